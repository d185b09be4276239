/*
Copyright 2026 The mlpipe Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package localrun

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// sleepYAML's first task touches MARKER and sleeps; the second runs after it.
const sleepYAML = `
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: sleepy}
spec:
  tasks:
  - name: slow
    taskSpec:
      steps: [{name: slow, image: busybox, script: 'touch MARKER; sleep 60'}]
  - name: after
    runAfter: [slow]
    taskSpec:
      steps: [{name: after, image: busybox, script: 'true'}]
`

// TestRunCancelled: cancelling the run's context (what Ctrl-C does) while a step runs ends the run within
// seconds as Failed with reason Cancelled, the running task Cancelled (not Failed), the next one Skipped; the
// plain display prints the cancelled task's real duration.
func TestRunCancelled(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "started")
	objs := mustObjects(t, strings.ReplaceAll(sleepYAML, "MARKER", marker), false)
	opts := testOptions(t)
	var out bytes.Buffer
	display := NewDisplay(&out, false)
	opts.Events = display.Handle
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for {
			if _, err := os.Stat(marker); err == nil {
				cancel()
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	start := time.Now()
	res, err := Run(ctx, objs.Pipeline, objs.Tasks, opts)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 15*time.Second {
		t.Errorf("the cancelled run took %s", took)
	}
	if !res.Cancelled() || res.Status != "Failed" {
		t.Errorf("run %s (%s), want Failed (Cancelled)", res.Status, res.Reason)
	}
	if got := statuses(res); got["slow"] != StatusCancelled || got["after"] != StatusSkipped {
		t.Errorf("tasks %v, want slow Cancelled, after Skipped", got)
	}
	if !regexp.MustCompile(`(?m)^Cancelled  slow [0-9.]+m?s \(TaskRunCancelled\)$`).MatchString(out.String()) {
		t.Errorf("display:\n%s", out.String())
	}
}
