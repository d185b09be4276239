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
)

// gateYAML is a hand-written pipeline with the generated pipeline's shape:
// prep -> train -> evaluate -> register -> deploy, the gate on evaluate's
// passed result, and alert under finally reporting $(tasks.status).
const gateYAML = `
apiVersion: tekton.dev/v1
kind: Task
metadata: {name: prep}
spec:
  workspaces: [{name: data}]
  results: [{name: dataset-uri}]
  steps:
  - name: prep
    image: busybox
    script: |
      echo "a,b" > $(workspaces.data.path)/train.csv
      printf "file://%s" "$(workspaces.data.path)/train.csv" > $(results.dataset-uri.path)
---
apiVersion: tekton.dev/v1
kind: Task
metadata: {name: train}
spec:
  params: [{name: epochs}, {name: dataset-uri}, {name: fail, default: "false"}]
  workspaces: [{name: data}]
  results: [{name: model-uri}]
  steps:
  - name: train
    image: busybox
    env: [{name: EPOCHS, value: $(params.epochs)}]
    script: |
      test "$(params.fail)" = "false" || { echo "training failed" >&2; exit 3; }
      echo "model trained $EPOCHS epochs on $(params.dataset-uri)" > $(workspaces.data.path)/model.txt
      printf "file://%s" "$(workspaces.data.path)/model.txt" > $(results.model-uri.path)
---
apiVersion: tekton.dev/v1
kind: Task
metadata: {name: evaluate}
spec:
  params: [{name: model-uri}, {name: accuracy}]
  results: [{name: accuracy}, {name: passed}]
  steps:
  - name: eval
    image: busybox
    script: |
      printf "%s" "$(params.accuracy)" > $(results.accuracy.path)
      if [ "$(params.accuracy)" = "0.95" ]; then printf true; else printf false; fi > "$TEKTON_RESULTS_DIR/passed"
---
apiVersion: tekton.dev/v1
kind: Task
metadata: {name: echo}
spec:
  params: [{name: msg, default: ""}]
  results: [{name: out}]
  steps:
  - name: echo
    image: busybox
    script: printf "%s" "$(params.msg)" > $(results.out.path)
---
apiVersion: tekton.dev/v1
kind: Pipeline
metadata:
  name: churn
  annotations: {mlpipe.dev/gate-task: evaluate, mlpipe.dev/gate-metric: accuracy, mlpipe.dev/gate-threshold: "0.9"}
spec:
  params:
  - {name: epochs, default: "20"}
  - {name: accuracy, default: "0.95"}
  - {name: fail, default: "false"}
  workspaces: [{name: artifacts}]
  tasks:
  - name: prep
    taskRef: {name: prep}
    workspaces: [{name: data, workspace: artifacts}]
  - name: train
    taskRef: {name: train}
    params:
    - {name: epochs, value: $(params.epochs)}
    - {name: dataset-uri, value: $(tasks.prep.results.dataset-uri)}
    - {name: fail, value: $(params.fail)}
    workspaces: [{name: data, workspace: artifacts}]
  - name: evaluate
    taskRef: {name: evaluate}
    params:
    - {name: model-uri, value: $(tasks.train.results.model-uri)}
    - {name: accuracy, value: $(params.accuracy)}
  - name: register
    taskRef: {name: echo}
    WHEN_REGISTER
    params: [{name: msg, value: "registered by $(context.pipelineRun.name)"}]
  - name: deploy
    taskRef: {name: echo}
    runAfter: [register]
    WHEN_DEPLOY
    params: [{name: msg, value: "deployed"}]
  finally:
  - name: alert
    taskRef: {name: echo}
    when: [{input: $(tasks.status), operator: notin, values: [Succeeded]}]
    params: [{name: msg, value: "status=$(tasks.status) train=$(tasks.train.status)"}]
`

const (
	whenResult = `when: [{input: "$(tasks.evaluate.results.passed)", operator: in, values: ["true"]}]`
	// whenCEL compares the number only once the result is substituted: on
	// the literal "$(tasks...)" text matches() is false and && absorbs the
	// conversion error, as Tekton's reconciler needs (see TestRunCELOnUnresolvedResult).
	whenCEL = `when: [{cel: "'$(tasks.evaluate.results.accuracy)'.matches('^[0-9.]+$') && double('$(tasks.evaluate.results.accuracy)') > 0.90"}]`
)

// gatePipeline returns the gate pipeline with result-form or CEL-form whens.
func gatePipeline(t testing.TB, cel bool) *Objects {
	t.Helper()
	return gatePipelineWhen(t, cel, "")
}

// gatePipelineWhen uses when w for register and deploy when w is not empty.
func gatePipelineWhen(t testing.TB, cel bool, w string) *Objects {
	t.Helper()
	if w == "" {
		w = whenResult
		if cel {
			w = whenCEL
		}
	}
	y := strings.NewReplacer("WHEN_REGISTER", w, "WHEN_DEPLOY", w).Replace(gateYAML)
	return mustObjects(t, y, cel)
}

func mustObjects(t testing.TB, y string, cel bool) *Objects {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "objects.yaml"), []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	objs, err := LoadDir(testCtx(cel), dir)
	if err != nil {
		t.Fatalf("LoadDir: %v", err)
	}
	return objs
}

func testCtx(cel bool) context.Context {
	if cel {
		return WithCEL(context.Background())
	}
	return context.Background()
}

// testOptions keeps state in a temp dir.
func testOptions(t testing.TB) Options {
	return Options{Root: filepath.Join(t.TempDir(), ".mlpipe"), SelfCommand: []string{"/bin/false"}}
}

// statuses maps task name to status.
func statuses(res *Result) map[string]TaskStatus {
	m := map[string]TaskStatus{}
	for _, t := range res.Tasks {
		m[t.Name] = t.Status
	}
	return m
}
