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

// TestLoadDirErrorsNameLine: a hand-edited YAML that Tekton refuses is reported as FILE:LINE:COL, the
// document, the field path and the message, for decode and validation errors alike.
func TestLoadDirErrorsNameLine(t *testing.T) {
	const task = `apiVersion: tekton.dev/v1
kind: Task
metadata: {name: echo}
spec:
  params:
  - name: msg
  steps:
  - name: echo
    image: busybox
    script: echo $(params.msg)
`
	const pipeline = `---
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: p}
spec:
  tasks:
  - name: a
    taskRef: {name: echo}
    params: [{name: msg, value: hi}]
`
	tests := []struct {
		name, yaml string
		want       []string
	}{{
		name: "unknown field",
		yaml: strings.Replace(task, "  steps:", "  stepz:", 1) + pipeline,
		want: []string{`all.yaml:7:3: document 1 (Task): unknown field "stepz"`},
	}, {
		name: "undeclared param in a script",
		yaml: strings.Replace(task, "$(params.msg)", "$(params.nope)", 1) + pipeline,
		want: []string{`all.yaml:10:13: document 1 (Task) echo: spec.steps[0].script: non-existent variable in "echo $(params.nope)"`},
	}, {
		name: "wrong type in the second document",
		yaml: task + strings.Replace(pipeline, "    params:", "    retries: three\n    params:", 1),
		want: []string{`all.yaml:19:14: document 2 (Pipeline): spec.tasks.retries: `, "cannot unmarshal string"},
	}, {
		name: "two problems, each on its line",
		yaml: task + pipeline + "  - name: Bad_Name\n    taskRef: {name: echo}\n    params: [{name: msg, value: $(params.missing)}]\n",
		want: []string{
			`all.yaml:20:11: document 2 (Pipeline) p: spec.tasks[1].name: invalid value "Bad_Name"`,
			`all.yaml:22:14: document 2 (Pipeline) p: spec.tasks[1].params[msg]: non-existent variable in "$(params.missing)"`,
		},
	}, {
		name: "duplicate key: the file's line, not the decoder's",
		yaml: task + strings.Replace(pipeline, "    params:", "    taskRef: {name: other}\n    params:", 1),
		want: []string{`all.yaml:19:5: document 2 (Pipeline): key "taskRef" is set twice in the same mapping`},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "all.yaml"), []byte(tt.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := LoadDir(context.Background(), dir)
			if err == nil {
				t.Fatal("LoadDir succeeded")
			}
			msg := strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), "")
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error:\n%s\nwant it to contain %q", msg, w)
				}
			}
		})
	}
}

func TestSplitPath(t *testing.T) {
	got := strings.Join(splitPath("spec.tasks[1].params[epochs].value"), " ")
	if want := "spec tasks [1] params [epochs] value"; got != want {
		t.Errorf("splitPath = %q, want %q", got, want)
	}
}
