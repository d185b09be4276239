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

package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlpipe/mlpipe/pkg/localrun"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	metrics := filepath.Join(dir, "metrics.json")
	if err := os.WriteFile(metrics, []byte(`{"accuracy":0.9,"labels":["no","yes"],"confusion":[[40,5],[5,50]]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	th := 0.9
	var runs []*localrun.Result
	for i, v := range []float64{0.85, 0.92} {
		v, passed := v, v >= th
		runs = append(runs, &localrun.Result{RunID: "r" + string(rune('1'+i)), Pipeline: "churn", Status: "Succeeded", Started: time.Now(),
			Gate: &localrun.Gate{Task: "evaluate", Metric: "accuracy", Threshold: &th, Value: &v, Passed: &passed}})
	}
	runs[1].Metrics = metrics
	files, err := Write(runs, filepath.Join(dir, "out"))
	if err != nil {
		t.Fatal(err)
	}
	html, err := os.ReadFile(files.HTML)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(html), "data:image/png;base64,") || !strings.Contains(string(html), "churn") {
		t.Errorf("html lacks the embedded PNG or the pipeline name")
	}
	png, err := os.ReadFile(files.PNG)
	if err != nil || len(png) < 1000 || string(png[1:4]) != "PNG" {
		t.Errorf("png: %d bytes, %v", len(png), err)
	}
}
