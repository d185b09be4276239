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

package commands

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const scheduledSpec = `apiVersion: mlpipe.dev/v1alpha1
kind: MLPipeline
metadata: {name: churn}
spec:
  data: {uri: s3://datasets/churn.csv, label: churned}
  steps:
    evaluate: {metric: accuracy, threshold: 0.75}
  register: {store: s3://models/churn}
  triggers:
    schedule: {cron: "0 2 * * 1"}
`

// TestGenerateRemovesItsStaleFiles: generate into a folder an earlier generate of a scheduled spec wrote: the
// schedule it no longer produces is removed, the user's own file stays, and the manifest lists what is there now.
func TestGenerateRemovesItsStaleFiles(t *testing.T) {
	dir := t.TempDir()
	specFile, out := filepath.Join(dir, "mlpipe.yaml"), filepath.Join(dir, "out")
	writeTestFile(t, specFile, scheduledSpec)
	if _, stderr, err := runCLI(t, "generate", "-f", specFile, "-o", out); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if _, err := os.Stat(filepath.Join(out, "schedule.yaml")); err != nil {
		t.Fatalf("the scheduled spec wrote no schedule.yaml: %v", err)
	}
	writeTestFile(t, filepath.Join(out, "notes.txt"), "mine")
	writeTestFile(t, filepath.Join(out, "tasks", "my-task.yaml"), "mine")

	writeTestFile(t, specFile, strings.Split(scheduledSpec, "  triggers:")[0])
	stdout, stderr, err := runCLI(t, "generate", "-f", specFile, "-o", out)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if _, err := os.Stat(filepath.Join(out, "schedule.yaml")); !os.IsNotExist(err) {
		t.Errorf("schedule.yaml of the earlier spec is still there (%v)", err)
	}
	if !strings.Contains(stdout, "schedule.yaml") || !strings.Contains(stdout, "removed (an earlier generate wrote it; this spec does not)") {
		t.Errorf("generate did not say it removed schedule.yaml:\n%s", stdout)
	}
	for _, mine := range []string{"notes.txt", "tasks/my-task.yaml"} {
		if b, err := os.ReadFile(filepath.Join(out, mine)); err != nil || string(b) != "mine" {
			t.Errorf("the user's %s: %q, %v", mine, b, err)
		}
	}
	manifest, err := os.ReadFile(filepath.Join(out, ".mlpipe-generated"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Fields(string(manifest)) {
		if _, err := os.Stat(filepath.Join(out, line)); err != nil {
			t.Errorf("the manifest lists %s: %v", line, err)
		}
		if line == "schedule.yaml" || line == "notes.txt" {
			t.Errorf("the manifest lists %s", line)
		}
	}
	if !strings.Contains(string(manifest), "pipeline.yaml\n") {
		t.Errorf("manifest:\n%s", manifest)
	}
}
