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

package steps

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestBuildAlertFromTaskStatusesAndMetrics(t *testing.T) {
	dir := t.TempDir()
	metrics := filepath.Join(dir, "metrics.json")
	report := `{"accuracy": 0.8227848101265823, "gate": {"metric": "accuracy", "operator": ">=", "threshold": 0.9, "value": 0.8227848101265823, "passed": false,
		"reasons": ["accuracy 0.8228 is not >= the threshold 0.9", "accuracy 0.8228 does not beat the champion v2 (0.8354) by more than min-delta 0 (higher is better)"]}}`
	if err := os.WriteFile(metrics, []byte(report), 0o644); err != nil {
		t.Fatal(err)
	}
	errorsDir := filepath.Join(dir, "errors")
	if err := os.MkdirAll(errorsDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(errorsDir, "preprocess.txt"), []byte(`label column "nope" is not in the data`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		o          AlertOptions
		wantFailed []string
		wantPassed string
		// wantValue is the message's value field, kept as given; empty for any.
		wantValue string
		wantText  string
	}{{
		name:       "gate failed: metrics file fills value and outcome",
		o:          AlertOptions{Status: "Completed", PipelineRun: "churn-run-1", Threshold: "0.9", TaskStatuses: []string{"train=Succeeded", "register=None"}, MetricsFile: metrics},
		wantFailed: []string{},
		wantPassed: "false",
		wantValue:  "0.8227848101265823",
		wantText: "evaluation gate did not pass (accuracy = 0.8228, threshold 0.9): accuracy 0.8228 is not >= the threshold 0.9; " +
			"accuracy 0.8228 does not beat the champion v2 (0.8354) by more than min-delta 0 (higher is better)",
	}, {
		name:       "a task failed, no metrics yet",
		o:          AlertOptions{Status: "Failed", PipelineRun: "churn-run-2", TaskStatuses: []string{"preprocess=Succeeded", "train=Failed", "evaluate=None"}, MetricsFile: filepath.Join(dir, "missing.json")},
		wantFailed: []string{"train"},
		wantText:   "failed tasks: train",
	}, {
		name:       "a task failed and wrote its error: the alert quotes it",
		o:          AlertOptions{Status: "Failed", PipelineRun: "churn-run-3", TaskStatuses: []string{"preprocess=Failed", "train=None"}, ErrorsDir: errorsDir},
		wantFailed: []string{"preprocess"},
		wantText:   `failed tasks: preprocess; preprocess: "label column \"nope\" is not in the data"`,
	}, {
		name:       "a succeeded task's stale error file is not quoted",
		o:          AlertOptions{Status: "Failed", PipelineRun: "churn-run-4", TaskStatuses: []string{"preprocess=Succeeded", "train=Failed"}, ErrorsDir: errorsDir},
		wantFailed: []string{"train"},
		wantText:   "failed tasks: train",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := BuildAlert(&tt.o)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantFailed, m.FailedTasks); diff != "" {
				t.Errorf("FailedTasks (-want +got):\n%s", diff)
			}
			got := ""
			if m.Passed != nil {
				got = map[bool]string{true: "true", false: "false"}[*m.Passed]
			}
			if got != tt.wantPassed {
				t.Errorf("Passed = %q, want %q", got, tt.wantPassed)
			}
			if tt.wantValue != "" && m.Value != tt.wantValue {
				t.Errorf("Value = %q, want %q", m.Value, tt.wantValue)
			}
			if !strings.Contains(m.Text, tt.wantText) {
				t.Errorf("Text = %q, want it to contain %q", m.Text, tt.wantText)
			}
		})
	}
	if m, _ := BuildAlert(&AlertOptions{Status: "Failed", TaskStatuses: []string{"preprocess=Succeeded", "train=Failed"}, ErrorsDir: errorsDir}); strings.Contains(m.Text, "nope") {
		t.Errorf("alert quotes the error file of a task that succeeded: %q", m.Text)
	}
	if _, err := BuildAlert(&AlertOptions{TaskStatuses: []string{"nonsense"}}); err == nil {
		t.Error("BuildAlert with a malformed --task-status succeeded")
	}
}

// TestRecordError: a failing step writes its error to $MLPIPE_ERROR_FILE (creating the folder); a step that
// succeeds writes nothing.
func TestRecordError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "errors", "train.txt")
	t.Setenv(ErrorFileEnv, path)
	root := NewStepsRoot()
	root.SetArgs([]string{"train", "--dataset", filepath.Join(t.TempDir(), "missing"), "--out", t.TempDir()})
	root.SetOut(new(strings.Builder))
	root.SetErr(new(strings.Builder))
	err := root.Execute()
	if err == nil {
		t.Fatal("train on a missing dataset succeeded")
	}
	data, readErr := os.ReadFile(path)
	if readErr != nil {
		t.Fatalf("no error file: %v", readErr)
	}
	if got := strings.TrimSpace(string(data)); got != err.Error() {
		t.Errorf("error file = %q, want the step's error %q", got, err.Error())
	}
	ok := filepath.Join(t.TempDir(), "ok.txt")
	t.Setenv(ErrorFileEnv, ok)
	if recordError(nil) != nil {
		t.Fatal("recordError(nil) != nil")
	}
	if _, err := os.Stat(ok); err == nil {
		t.Error("an error file was written for a step that succeeded")
	}
}
