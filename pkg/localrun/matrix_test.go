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
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
)

// sweepYAML fans a "train" out over learning rates with a matrix, collects the scores with
// $(tasks.sweep.results.score[*]), and reports the aggregate status in finally.
const sweepYAML = `
apiVersion: tekton.dev/v1
kind: Task
metadata: {name: train}
spec:
  params: [{name: lr}, {name: epochs}, {name: fail-at, default: none}]
  results: [{name: score}]
  steps:
  - name: train
    image: busybox
    env: [{name: LR, value: $(params.lr)}, {name: FAIL_AT, value: $(params.fail-at)}]
    script: |
      echo "training lr=$LR epochs=$(params.epochs)"
      test "$LR" != "$FAIL_AT" || { echo "diverged at lr=$LR" >&2; exit 2; }
      printf "%s" "$LR" > $(results.score.path)
---
apiVersion: tekton.dev/v1
kind: Task
metadata: {name: pick}
spec:
  params: [{name: scores, type: array}]
  results: [{name: all}]
  steps:
  - name: pick
    image: busybox
    args: ["$(params.scores[*])"]
    script: |
      printf "%s" "$*" > $(results.all.path)
---
apiVersion: tekton.dev/v1
kind: Task
metadata: {name: report}
spec:
  params: [{name: status}]
  steps:
  - name: report
    image: busybox
    script: echo "status $(params.status)"
---
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: sweep}
spec:
  params:
  - {name: rates, type: array, default: ["0.1", "0.5", "1.0"]}
  - {name: fail-at, default: none}
  tasks:
  - name: sweep
    taskRef: {name: train}
    matrix:
      params: [{name: lr, value: "$(params.rates[*])"}]
    params: [{name: epochs, value: "5"}, {name: fail-at, value: $(params.fail-at)}]
  - name: pick
    taskRef: {name: pick}
    params: [{name: scores, value: "$(tasks.sweep.results.score[*])"}]
  finally:
  - name: report
    taskRef: {name: report}
    params: [{name: status, value: $(tasks.sweep.status)}]
`

func TestRunMatrix(t *testing.T) {
	objs := mustObjects(t, sweepYAML, false)
	opts := testOptions(t)
	run := func(params map[string]string) *Result {
		t.Helper()
		o := opts
		o.Params = params
		res, err := Run(context.Background(), objs.Pipeline, objs.Tasks, o)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}

	res := run(nil)
	if !res.Succeeded() {
		t.Fatalf("run failed: %s %s", res.Reason, res.Message)
	}
	sweep, pick := res.Task("sweep"), res.Task("pick")
	if sweep.Status != StatusSucceeded || sweep.Results["score"] != `["0.1","0.5","1.0"]` {
		t.Errorf("sweep: %s %v, want Succeeded with the scores in matrix order", sweep.Status, sweep.Results)
	}
	if pick.Status != StatusSucceeded || pick.Results["all"] != "0.1 0.5 1.0" {
		t.Errorf("pick: %s %v, want the three scores through $(tasks.sweep.results.score[*])", pick.Status, pick.Results)
	}
	for i, lr := range []string{"0.1", "0.5", "1.0"} {
		log, err := os.ReadFile(filepath.Join(res.Dir, "tasks", "sweep", "matrix-"+string(rune('0'+i)), "log.txt"))
		if err != nil || !strings.Contains(string(log), "training lr="+lr+" epochs=5") {
			t.Errorf("TaskRun %d log: %q, %v", i, log, err)
		}
	}

	// A rerun hits the cache for every combination; a new rate runs only that combination.
	again := run(nil)
	if got := again.Task("sweep").Status; got != StatusCached {
		t.Errorf("rerun: sweep %s, want Cached", got)
	}
	more := run(map[string]string{"rates": `["0.1","0.5","2.0"]`})
	if got := more.Task("sweep"); got.Status != StatusSucceeded || got.Results["score"] != `["0.1","0.5","2.0"]` {
		t.Errorf("new rate: sweep %s %v", got.Status, got.Results)
	}
	for i, want := range []string{"hit", "hit", "miss"} {
		why, err := Explain(opts.Root, more.RunID, "sweep/matrix-"+string(rune('0'+i)))
		if err != nil || !strings.Contains(why, "cache "+strings.ToUpper(want)) {
			t.Errorf("combination %d: want a cache %s, got %q %v", i, want, why, err)
		}
	}

	// One combination fails: the pipeline task fails naming it, pick is not run, finally sees Failed.
	bad := run(map[string]string{"fail-at": "0.5"})
	if bad.Succeeded() {
		t.Fatal("run with a failing combination succeeded")
	}
	if got := bad.Task("sweep"); got.Status != StatusFailed || !strings.Contains(got.Message, "TaskRun 2 of 3") {
		t.Errorf("sweep: %s %q, want Failed naming TaskRun 2 of 3", got.Status, got.Message)
	}
	var summary strings.Builder
	Summary(&summary, bad)
	if !strings.Contains(summary.String(), "    | diverged at lr=0.5\n") {
		t.Errorf("summary does not quote the failed combination's log:\n%s", summary.String())
	}
	if got := bad.Task("pick").Status; got == StatusSucceeded {
		t.Errorf("pick ran after a failed sweep")
	}
	if got := bad.Task("report").Status; got != StatusSucceeded {
		t.Errorf("finally report: %s, want it to run", got)
	}
}

func TestParamValue(t *testing.T) {
	tests := []struct {
		typ  v1.ParamType
		raw  string
		want string
		err  string
	}{
		{v1.ParamTypeString, "a,b", `"a,b"`, ""},
		{v1.ParamTypeArray, "0.1,0.5", `["0.1","0.5"]`, ""},
		{v1.ParamTypeArray, `["a,b","c"]`, `["a,b","c"]`, ""},
		{v1.ParamTypeArray, `[]`, `[]`, ""},
		{v1.ParamTypeArray, `[1,2]`, "", "not a JSON array of strings"},
		{v1.ParamTypeObject, "url:http://x,branch:main", `{"branch":"main","url":"http://x"}`, ""},
		{v1.ParamTypeObject, `{"k":"v"}`, `{"k":"v"}`, ""},
		{v1.ParamTypeObject, "nocolon", "", "want key:value"},
	}
	for _, tt := range tests {
		got, err := paramValue(tt.typ, tt.raw)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("paramValue(%s, %q) error = %v, want %q", tt.typ, tt.raw, err, tt.err)
			}
			continue
		}
		b, _ := got.MarshalJSON()
		if err != nil || string(b) != tt.want {
			t.Errorf("paramValue(%s, %q) = %s, %v; want %s", tt.typ, tt.raw, b, err, tt.want)
		}
	}
}
