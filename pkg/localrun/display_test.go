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
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseProgress(t *testing.T) {
	tests := []struct {
		name   string
		log    string
		want   Progress
		wantOK bool
	}{{
		name:   "last epoch line wins",
		log:    "=== attempt 1, step train\nepoch 1/40 loss 0.455922\nepoch 2/40 loss 0.415211\n",
		want:   Progress{Epoch: 2, Epochs: 40, Loss: 0.415211},
		wantOK: true,
	}, {
		name:   "a retry starts over",
		log:    "=== attempt 1, step train\nepoch 30/40 loss 0.3\n=== attempt 1 failed (Error: x); retrying (1 of 1 retries)\n=== attempt 2, step train\nepoch 3/40 loss 0.9\n",
		want:   Progress{Epoch: 3, Epochs: 40, Loss: 0.9},
		wantOK: true,
	}, {
		name: "a retry before its first epoch has no progress",
		log:  "epoch 30/40 loss 0.3\n=== attempt 2, step train\nreading data\n",
	}, {
		name:   "other lines around",
		log:    "epoch 7/9 loss 3.06\nwrote file:///m/model.json (sha256:ab)\n",
		want:   Progress{Epoch: 7, Epochs: 9, Loss: 3.06},
		wantOK: true,
	}, {
		name:   "more fields after the loss (the train step's val-loss and rows/s)",
		log:    "epoch 3/20 loss 0.412345 val-loss 0.420000 rows/s 1234567\ntrained by sgd: 20 of 20 epochs\n",
		want:   Progress{Epoch: 3, Epochs: 20, Loss: 0.412345},
		wantOK: true,
	}, {
		name: "not a progress line",
		log:  "my epoch 1/2 loss 3\nepoch 5/4 loss 1\nepoch 1/2 loss high\n",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseProgress([]byte(tt.log))
			if ok != tt.wantOK || got != tt.want {
				t.Errorf("parseProgress = %+v, %v; want %+v, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

// TestDisplayTableProgress: the live table shows a running train task's epoch, loss and ETA from its log,
// each finished task's duration, and the last progress of a finished one.
func TestDisplayTableProgress(t *testing.T) {
	dir := t.TempDir()
	writeLog(t, dir, "train", "=== attempt 1, step train\nepoch 1/40 loss 0.5\nepoch 10/40 loss 0.412345\n")
	var out strings.Builder
	d := &Display{w: &out, tty: true, now: time.Now, index: map[string]*row{}, printed: map[string]Progress{}}
	t0 := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	d.Handle(Event{Task: "preprocess", Status: StatusCached, Time: t0, Dir: dir})
	d.Handle(Event{Task: "train", Status: StatusRunning, Attempt: 1, Time: t0})
	d.Handle(Event{Task: "alert", Final: true, Status: StatusPending, Time: t0})
	got := d.table(t0.Add(5 * time.Second))
	want := []string{
		"TASK                     STATE       DURATION  CACHED PROGRESS",
		"preprocess               Cached                yes",
		// 10 of 40 epochs in 5 s: 30 more take 15 s.
		"train                    Running     5s               epoch 10/40 loss 0.4123 ETA 15s",
		"alert (finally)          Pending",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("table (-want +got):\n%s", diff)
	}
	writeLog(t, dir, "train", "=== attempt 1, step train\nepoch 40/40 loss 0.3741\n")
	d.Handle(Event{Task: "train", Status: StatusSucceeded, Attempt: 1, Time: t0.Add(20*time.Second + 4*time.Millisecond)})
	if got := d.table(t0.Add(time.Minute))[2]; got != "train                    Succeeded   20s              epoch 40/40 loss 0.3741" {
		t.Errorf("finished row = %q", got)
	}
	if !strings.HasPrefix(out.String(), "run folder: "+dir+"\n") {
		t.Errorf("output does not start with the run folder:\n%s", out.String())
	}
}

// TestDisplayPlainLines: not on a terminal, the display writes plain lines (no escape sequences): the run
// folder, each state change with its duration, a progress line for a running task.
func TestDisplayPlainLines(t *testing.T) {
	dir := t.TempDir()
	var out strings.Builder
	d := &Display{w: &out, now: time.Now, index: map[string]*row{}, printed: map[string]Progress{}}
	t0 := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	d.now = func() time.Time { return t0.Add(2 * time.Second) }
	d.Handle(Event{Task: "train", Status: StatusRunning, Attempt: 1, Time: t0, Dir: dir})
	writeLog(t, dir, "train", "epoch 4/8 loss 9.47\n")
	d.plainProgress()
	d.plainProgress() // unchanged progress: no second line
	writeLog(t, dir, "train", "epoch 8/8 loss 3.06\n")
	d.Handle(Event{Task: "train", Status: StatusSucceeded, Attempt: 1, Time: t0.Add(4 * time.Second)})
	want := "run folder: " + dir + "\n" +
		"  follow a task: tail -f " + dir + "/tasks/<task>/log.txt\n" +
		"Running    train\n" +
		"Progress   train 2s epoch 4/8 loss 9.4700 ETA 2s\n" +
		"Succeeded  train 4s epoch 8/8 loss 3.0600\n"
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("plain output (-want +got):\n%s", diff)
	}
}

// TestSummaryCachedTaskLog: a task restored from the cache has no log in the new run; the summary names the log
// of the run it came from, which exists.
func TestSummaryCachedTaskLog(t *testing.T) {
	runs := t.TempDir()
	writeLog(t, filepath.Join(runs, "r1"), "preprocess", "read 405 rows\n")
	res := &Result{RunID: "r2", PipelineRun: "churn-r2", Status: "Succeeded", Dir: filepath.Join(runs, "r2"),
		Tasks: []TaskResult{{Name: "preprocess", Status: StatusCached, CachedFrom: "r1", Log: "tasks/preprocess/log.txt"}}}
	var b strings.Builder
	Summary(&b, res)
	want := "    preprocess (cached from run r1): " + filepath.Join(runs, "r1", "tasks", "preprocess", "log.txt") + "\n"
	if !strings.Contains(b.String(), want) {
		t.Errorf("summary lacks %q:\n%s", want, b.String())
	}
}

func writeLog(t *testing.T, runDir, task, text string) {
	t.Helper()
	p := filepath.Join(runDir, "tasks", task, "log.txt")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestSummaryGateReasons: the summary gives every reason the evaluate step wrote into metrics.json (threshold,
// champion, both) and why it did not compare the champion, in the step's words; it no longer reads "does not
// beat the champion" for a model that missed the threshold.
func TestSummaryGateReasons(t *testing.T) {
	const (
		threshold = "accuracy 0.8228 is not >= the threshold 0.99"
		champion  = "accuracy 0.8228 does not beat the champion v1 (0.8354) by more than min-delta 0 (higher is better)"
		skipped   = "champion v2 not compared: its label is \"churned\", this model's \"churn\"; the gate decided on the threshold alone"
	)
	tests := []struct {
		name      string
		threshold float64
		passed    bool
		gate      string
		want      string
	}{{
		name:      "threshold failed only",
		threshold: 0.99,
		gate:      `{"thresholdPassed":false,"champion":{"version":1,"value":0.7,"minDelta":0,"passed":true},"passed":false,"reasons":["` + threshold + `"]}`,
		want:      "  gate: accuracy 0.8228 (threshold 0.99): FAILED\n    " + threshold + "\n",
	}, {
		name:      "champion failed only",
		threshold: 0.75,
		gate:      `{"thresholdPassed":true,"champion":{"version":1,"value":0.8354,"minDelta":0,"passed":false},"passed":false,"reasons":["` + champion + `"]}`,
		want:      "  gate: accuracy 0.8228 (threshold 0.75): FAILED\n    " + champion + "\n",
	}, {
		name:      "both failed",
		threshold: 0.99,
		gate:      `{"thresholdPassed":false,"champion":{"version":1,"value":0.8354,"minDelta":0,"passed":false},"passed":false,"reasons":["` + threshold + `","` + champion + `"]}`,
		want:      "  gate: accuracy 0.8228 (threshold 0.99): FAILED\n    " + threshold + "\n    " + champion + "\n",
	}, {
		name:      "champion skipped, threshold passed",
		threshold: 0.75,
		passed:    true,
		gate:      `{"thresholdPassed":true,"championSkipped":"` + strings.ReplaceAll(skipped, `"`, `\"`) + `","passed":true}`,
		want:      "  gate: accuracy 0.8228 (threshold 0.75): passed\n    " + skipped + "\n",
	}, {
		name:      "champion skipped, threshold failed",
		threshold: 0.99,
		gate:      `{"thresholdPassed":false,"championSkipped":"` + strings.ReplaceAll(skipped, `"`, `\"`) + `","passed":false,"reasons":["` + threshold + `"]}`,
		want:      "  gate: accuracy 0.8228 (threshold 0.99): FAILED\n    " + threshold + "\n    " + skipped + "\n",
	}, {
		name:      "a metrics.json without reasons",
		threshold: 0.75,
		gate:      `{"champion":{"version":3,"value":0.83544303,"minDelta":0.01,"passed":false},"passed":false}`,
		want:      "  gate: accuracy 0.8228 (threshold 0.75): FAILED\n    accuracy does not beat the champion v3 (0.8354) by more than min-delta 0.01\n",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			metrics := filepath.Join(dir, "metrics.json")
			if err := os.WriteFile(metrics, []byte(`{"accuracy":0.8227848101265823,"gate":`+tt.gate+`}`), 0o644); err != nil {
				t.Fatal(err)
			}
			value, threshold, passed := 0.8227848101265823, tt.threshold, tt.passed
			g := &Gate{Task: "evaluate", Metric: "accuracy", Threshold: &threshold, Value: &value, Passed: &passed}
			readEvaluateGate(metrics, g)
			var b strings.Builder
			gateSummary(&b, g)
			if diff := cmp.Diff(tt.want, b.String()); diff != "" {
				t.Errorf("gate summary (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSummaryThresholdOfTheRun: the summary shows the threshold the evaluate step compared with (metrics.json),
// which `-p threshold=0.99` set, not the spec's threshold the Pipeline's annotation holds.
func TestSummaryThresholdOfTheRun(t *testing.T) {
	metrics := filepath.Join(t.TempDir(), "metrics.json")
	gateJSON := `{"gate":{"metric":"accuracy","operator":">=","threshold":0.99,"value":0.8354430379746836,"thresholdPassed":false,"passed":false,` +
		`"reasons":["accuracy 0.8354 is not >= the threshold 0.99"]}}`
	if err := os.WriteFile(metrics, []byte(gateJSON), 0o644); err != nil {
		t.Fatal(err)
	}
	annotated, value, passed := 0.75, 0.8354430379746836, false
	g := &Gate{Task: "evaluate", Metric: "accuracy", Threshold: &annotated, Value: &value, Passed: &passed}
	readEvaluateGate(metrics, g)
	var b strings.Builder
	gateSummary(&b, g)
	want := "  gate: accuracy 0.8354 (threshold 0.99): FAILED\n    accuracy 0.8354 is not >= the threshold 0.99\n"
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("gate summary (-want +got):\n%s", diff)
	}
}
