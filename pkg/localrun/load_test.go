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

const onePipelineYAML = `
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: NAME}
spec:
  tasks:
  - name: hello
    taskSpec:
      steps: [{name: hello, image: busybox, script: echo hello}]
`

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestLoadDirSkipsStateFolder: `mlpipe run --dir .` records the run's objects under ./.mlpipe; a later
// `mlpipe run --dir` of the same folder does not pick them up (hidden folders are left out).
func TestLoadDirSkipsStateFolder(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "pipeline.yaml"), strings.ReplaceAll(onePipelineYAML, "NAME", "churn"))
	writeFile(t, filepath.Join(dir, ".mlpipe", "runs", "churn", "20261202-000000-abcd", "pipeline.yaml"), strings.ReplaceAll(onePipelineYAML, "NAME", "churn"))
	objs, err := LoadDir(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if objs.Pipeline.Name != "churn" {
		t.Errorf("Pipeline %q", objs.Pipeline.Name)
	}
}

// TestLoadDirNamesEveryPipelineFile: two Pipelines in one folder is an error that names each one's file.
func TestLoadDirNamesEveryPipelineFile(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.yaml"), filepath.Join(dir, "sub", "b.yaml")
	writeFile(t, a, strings.ReplaceAll(onePipelineYAML, "NAME", "first"))
	writeFile(t, b, strings.ReplaceAll(onePipelineYAML, "NAME", "second"))
	_, err := LoadDir(context.Background(), dir)
	want := "2 Pipelines found in " + dir + ": first in " + a + ", second in " + b + "; keep one per directory"
	if err == nil || err.Error() != want {
		t.Errorf("error %v, want %q", err, want)
	}
}
