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
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/minio/minio-go/v7"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	testclock "k8s.io/utils/clock/testing"

	"github.com/mlpipe/mlpipe/pkg/store/storetest"
)

func TestRunGate(t *testing.T) {
	tests := []struct {
		name       string
		cel        bool
		whenCEL    string
		params     map[string]string
		wantStatus string
		want       map[string]TaskStatus
		wantAlert  string
	}{{
		name:       "gate passes",
		want:       map[string]TaskStatus{"prep": StatusSucceeded, "train": StatusSucceeded, "evaluate": StatusSucceeded, "register": StatusSucceeded, "deploy": StatusSucceeded, "alert": StatusSkipped},
		wantStatus: "Succeeded",
	}, {
		name:       "gate fails",
		params:     map[string]string{"accuracy": "0.5"},
		want:       map[string]TaskStatus{"prep": StatusSucceeded, "train": StatusSucceeded, "evaluate": StatusSucceeded, "register": StatusSkipped, "deploy": StatusSkipped, "alert": StatusSucceeded},
		wantStatus: "Succeeded",
		wantAlert:  "status=Completed train=Succeeded",
	}, {
		name:       "gate passes, CEL",
		cel:        true,
		want:       map[string]TaskStatus{"prep": StatusSucceeded, "train": StatusSucceeded, "evaluate": StatusSucceeded, "register": StatusSucceeded, "deploy": StatusSucceeded, "alert": StatusSkipped},
		wantStatus: "Succeeded",
	}, {
		name:       "gate fails, CEL",
		cel:        true,
		params:     map[string]string{"accuracy": "0.5"},
		want:       map[string]TaskStatus{"prep": StatusSucceeded, "train": StatusSucceeded, "evaluate": StatusSucceeded, "register": StatusSkipped, "deploy": StatusSkipped, "alert": StatusSucceeded},
		wantStatus: "Succeeded",
		wantAlert:  "status=Completed train=Succeeded",
	}, {
		name:       "gate fails, CEL on a string result",
		cel:        true,
		whenCEL:    `when: [{cel: "'$(tasks.evaluate.results.passed)' == 'true'"}]`,
		params:     map[string]string{"accuracy": "0.5"},
		want:       map[string]TaskStatus{"prep": StatusSucceeded, "train": StatusSucceeded, "evaluate": StatusSucceeded, "register": StatusSkipped, "deploy": StatusSkipped, "alert": StatusSucceeded},
		wantStatus: "Succeeded",
		wantAlert:  "status=Completed train=Succeeded",
	}, {
		name:       "failing step: finally sees Failed",
		params:     map[string]string{"fail": "true"},
		want:       map[string]TaskStatus{"prep": StatusSucceeded, "train": StatusFailed, "evaluate": StatusSkipped, "register": StatusSkipped, "deploy": StatusSkipped, "alert": StatusSucceeded},
		wantStatus: "Failed",
		wantAlert:  "status=Failed train=Failed",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs := gatePipelineWhen(t, tt.cel, tt.whenCEL)
			opts := testOptions(t)
			opts.Params = tt.params
			res, err := Run(testCtx(tt.cel), objs.Pipeline, objs.Tasks, opts)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if d := cmp.Diff(tt.want, statuses(res)); d != "" {
				t.Errorf("task statuses (-want +got):\n%s", d)
			}
			if res.Status != tt.wantStatus {
				t.Errorf("status = %s (%s: %s), want %s", res.Status, res.Reason, res.Message, tt.wantStatus)
			}
			if got := res.Task("alert").Results["out"]; got != tt.wantAlert {
				t.Errorf("alert saw %q, want %q", got, tt.wantAlert)
			}
			if res.Gate == nil || res.Gate.Value == nil || res.Gate.Passed == nil {
				if tt.params["fail"] == "" {
					t.Errorf("gate = %+v, want value and passed", res.Gate)
				}
			}
			if tt.want["register"] == StatusSucceeded {
				if got, want := res.Task("register").Results["out"], "registered by "+res.PipelineRun; got != want {
					t.Errorf("register saw %q, want %q", got, want)
				}
			}
			for _, f := range []string{"run.json", "pipeline.yaml", "pipelinerun.yaml", "tasks/prep/log.txt", "tasks/prep/taskrun.yaml"} {
				if _, err := os.Stat(filepath.Join(res.Dir, f)); err != nil {
					t.Errorf("run record: %v", err)
				}
			}
		})
	}
}

// TestRunCELOnUnresolvedResult pins Tekton's behaviour: every reconcile
// evaluates every CEL when expression, also before the referenced result
// exists, so a conversion of the still-unsubstituted "$(tasks...)" text fails
// the PipelineRun (CELEvaluationFailed) before anything runs. Guarding the
// conversion with && (CEL's && absorbs errors when the other side is false)
// makes numeric comparisons work.
func TestRunCELOnUnresolvedResult(t *testing.T) {
	objs := gatePipelineWhen(t, true, `when: [{cel: "double('$(tasks.evaluate.results.accuracy)') > 0.90"}]`)
	_, err := Run(testCtx(true), objs.Pipeline, objs.Tasks, testOptions(t))
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "CEL") {
		t.Errorf("err = %v, want the CEL evaluation error Tekton reports", err)
	}
}

func TestRunParamOverride(t *testing.T) {
	objs := gatePipeline(t, false)
	opts := testOptions(t)
	opts.Params = map[string]string{"epochs": "7"}
	res, err := Run(context.Background(), objs.Pipeline, objs.Tasks, opts)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(res.Dir, "workspaces", "artifacts", "model.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "model trained 7 epochs on file://") {
		t.Errorf("model.txt = %q, want the overridden epochs and the prep result", b)
	}
	if res.Params["epochs"] != "7" || res.Params["accuracy"] != "0.95" {
		t.Errorf("params = %v", res.Params)
	}
}

const singleTaskYAML = `
apiVersion: tekton.dev/v1
kind: Task
metadata: {name: t}
spec:
  params: [{name: state, default: ""}]
  results: [{name: out}]
  steps:
  - name: s
    image: busybox
    script: |
      SCRIPT
---
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: single}
spec:
  params: [{name: state, default: ""}]
  tasks:
  - name: t
    taskRef: {name: t}
    RETRIES_TIMEOUT
    params: [{name: state, value: $(params.state)}]
  finally:
  - name: report
    taskRef: {name: echo}
    params: [{name: msg, value: "$(tasks.t.status)"}]
---
apiVersion: tekton.dev/v1
kind: Task
metadata: {name: echo}
spec:
  params: [{name: msg}]
  results: [{name: out}]
  steps:
  - name: echo
    image: busybox
    script: printf "%s" "$(params.msg)" > $(results.out.path)
`

func singleTask(t *testing.T, script, extra string) *Objects {
	t.Helper()
	indented := strings.ReplaceAll(strings.TrimSpace(script), "\n", "\n      ")
	return mustObjects(t, strings.NewReplacer("SCRIPT", indented, "RETRIES_TIMEOUT", extra).Replace(singleTaskYAML), false)
}

func TestRunRetries(t *testing.T) {
	tests := []struct {
		name         string
		retries      int
		wantStatus   TaskStatus
		wantAttempts int
	}{
		{name: "second attempt succeeds", retries: 1, wantStatus: StatusSucceeded, wantAttempts: 2},
		{name: "retries exhausted", retries: 0, wantStatus: StatusFailed, wantAttempts: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			counter := filepath.Join(t.TempDir(), "count")
			objs := singleTask(t, `n=$(cat "$(params.state)" 2>/dev/null || echo 0); echo $((n+1)) > "$(params.state)"; test $n -ge 1; printf ok > $(results.out.path)`,
				fmt.Sprintf("retries: %d", tt.retries))
			opts := testOptions(t)
			opts.Params = map[string]string{"state": counter}
			res, err := Run(context.Background(), objs.Pipeline, objs.Tasks, opts)
			if err != nil {
				t.Fatal(err)
			}
			got := res.Task("t")
			if got.Status != tt.wantStatus || got.Attempts != tt.wantAttempts {
				t.Errorf("t = %s after %d attempts, want %s after %d", got.Status, got.Attempts, tt.wantStatus, tt.wantAttempts)
			}
		})
	}
}

// t0 is the fake clocks' start.
var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// runResult is what Run returned in a goroutine.
type runResult struct {
	res *Result
	err error
}

// startOnFakeClock starts Run on a fake clock at t0 and returns the clock and Run's answer; the run waits for
// the test to step the clock for every timeout.
func startOnFakeClock(t *testing.T, objs *Objects, opts Options) (*testclock.FakeClock, <-chan runResult) {
	t.Helper()
	fc := testclock.NewFakeClock(t0)
	opts.Clock = fc
	done := make(chan runResult, 1)
	go func() {
		res, err := Run(context.Background(), objs.Pipeline, objs.Tasks, opts)
		done <- runResult{res, err}
	}()
	return fc, done
}

// waitFor polls cond; the limit only stops a broken test from hanging, it decides nothing about timing.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for limit := time.Now().Add(time.Minute); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(limit) {
			t.Fatalf("gave up waiting for %s", what)
		}
	}
}

// childPid waits until the step wrote its background child's pid to file and returns it.
func childPid(t *testing.T, file string) int {
	t.Helper()
	var pid int
	waitFor(t, "the step to start its child", func() bool {
		b, err := os.ReadFile(file)
		pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil && pid > 0
	})
	return pid
}

func runDone(t *testing.T, done <-chan runResult) *Result {
	t.Helper()
	var got runResult
	waitFor(t, "the run to end", func() bool {
		select {
		case got = <-done:
			return true
		default:
			return false
		}
	})
	if got.err != nil {
		t.Fatal(got.err)
	}
	return got.res
}

func stillRunning(t *testing.T, done <-chan runResult) {
	t.Helper()
	select {
	case got := <-done:
		t.Fatalf("the run ended before its timeout: %+v", got.res)
	default:
	}
}

// childGone waits until the step's background child has been killed with its process group.
func childGone(t *testing.T, pid int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("child sleep (pid %d) to be killed with its process group", pid), func() bool { return syscall.Kill(pid, 0) != nil })
}

// TestRunTaskTimeoutOnClock: a pipeline task's timeout (10m) is measured on Options.Clock: the run waits until
// the fake clock has moved 10 minutes, then fails the task TimedOut, kills the step's whole process group
// (its background child too) and still runs finally, which sees the status Failed.
func TestRunTaskTimeoutOnClock(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	objs := singleTask(t, `sleep 60 & echo $! > "$(params.state)"; wait`, "timeout: 10m")
	opts := testOptions(t)
	opts.Params = map[string]string{"state": pidFile}
	fc, done := startOnFakeClock(t, objs, opts)
	pid := childPid(t, pidFile)
	stillRunning(t, done)
	fc.Step(10 * time.Minute)
	res := runDone(t, done)
	got := res.Task("t")
	if got.Status != StatusFailed || got.Reason != string(v1.TaskRunReasonTimedOut) {
		t.Errorf("t = %s/%s, want Failed/%s", got.Status, got.Reason, v1.TaskRunReasonTimedOut)
	}
	if want := `failed to finish within "10m0s"`; !strings.Contains(got.Message, want) {
		t.Errorf("t message %q, want it to contain %s", got.Message, want)
	}
	if !got.Started.Equal(t0) || !got.Finished.Equal(t0.Add(10*time.Minute)) {
		t.Errorf("t ran %s to %s, want %s to %s (the fake clock)", got.Started, got.Finished, t0, t0.Add(10*time.Minute))
	}
	if r := res.Task("report").Results["out"]; r != "Failed" {
		t.Errorf("finally saw $(tasks.t.status) = %q, want Failed", r)
	}
	childGone(t, pid)
}

// TestRunPipelineTimeoutOnClock: the PipelineRun's timeouts.pipeline (30m) is measured on Options.Clock: once
// the fake clock passes it, the running task is cancelled (TaskRunCancelled), its process group killed, and the
// run ends Failed/PipelineRunTimeout at the clock's time.
func TestRunPipelineTimeoutOnClock(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	objs := singleTask(t, `sleep 60 & echo $! > "$(params.state)"; wait`, "")
	opts := testOptions(t)
	opts.Params = map[string]string{"state": pidFile}
	opts.Timeouts = &v1.TimeoutFields{Pipeline: &metav1.Duration{Duration: 30 * time.Minute}}
	fc, done := startOnFakeClock(t, objs, opts)
	pid := childPid(t, pidFile)
	// Two timers wait on the clock: the TaskRun's timeout (the 60m default) and the pipeline's deadline.
	waitFor(t, "the runner to wait for the pipeline deadline", func() bool { return fc.Waiters() == 2 })
	stillRunning(t, done)
	fc.Step(31 * time.Minute)
	res := runDone(t, done)
	if res.Status != "Failed" || res.Reason != string(v1.PipelineRunReasonTimedOut) {
		t.Errorf("run = %s/%s, want Failed/%s", res.Status, res.Reason, v1.PipelineRunReasonTimedOut)
	}
	if got := res.Task("t"); got.Reason != string(v1.TaskRunReasonCancelled) {
		t.Errorf("t reason = %s, want %s", got.Reason, v1.TaskRunReasonCancelled)
	}
	if !res.Started.Equal(t0) || !res.Finished.Equal(t0.Add(31*time.Minute)) {
		t.Errorf("run %s to %s, want %s to %s (the fake clock)", res.Started, res.Finished, t0, t0.Add(31*time.Minute))
	}
	childGone(t, pid)
}

// TestRunKillGraceOnClock: a step that ignores SIGTERM is sent SIGKILL one second (on Options.Clock) after its
// timeout; until the clock moves that second its process group lives on.
func TestRunKillGraceOnClock(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	objs := singleTask(t, `trap '' TERM; sleep 60 & echo $! > "$(params.state)"; wait`, "timeout: 10m")
	opts := testOptions(t)
	opts.Params = map[string]string{"state": pidFile}
	fc, done := startOnFakeClock(t, objs, opts)
	pid := childPid(t, pidFile)
	// The task's timeout and the pipeline's 60m deadline wait on the clock.
	waitFor(t, "the task timeout and the pipeline deadline", func() bool { return fc.Waiters() == 2 })
	fc.Step(10 * time.Minute)
	// The task timeout fired; the pipeline deadline and the SIGKILL grace wait.
	waitFor(t, "the SIGKILL grace timer", func() bool { return fc.Waiters() == 2 })
	if err := syscall.Kill(pid, 0); err != nil {
		t.Fatalf("child (pid %d) died before the grace period: %v (it ignores SIGTERM)", pid, err)
	}
	stillRunning(t, done)
	fc.Step(time.Second)
	res := runDone(t, done)
	if got := res.Task("t"); got.Status != StatusFailed || got.Reason != string(v1.TaskRunReasonTimedOut) {
		t.Errorf("t = %s/%s, want Failed/%s", got.Status, got.Reason, v1.TaskRunReasonTimedOut)
	}
	childGone(t, pid)
}

func TestRunResultTooLarge(t *testing.T) {
	objs := singleTask(t, `head -c 5000 /dev/zero | tr '\0' x > $(results.out.path)`, "")
	res, err := Run(context.Background(), objs.Pipeline, objs.Tasks, testOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	got := res.Task("t")
	if got.Status != StatusFailed || got.Reason != string(v1.TaskRunReasonResultLargerThanAllowedLimit) {
		t.Errorf("t = %s/%s (%s), want Failed/%s", got.Status, got.Reason, got.Message, v1.TaskRunReasonResultLargerThanAllowedLimit)
	}
	if !strings.Contains(got.Message, "4096") || res.Status != "Failed" {
		t.Errorf("message %q, run %s", got.Message, res.Status)
	}
}

func TestRunMissingInterpreter(t *testing.T) {
	objs := singleTask(t, "#!/usr/bin/env no-such-python9\nprint(1)", "")
	res, err := Run(context.Background(), objs.Pipeline, objs.Tasks, testOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Task("t"); got.Status != StatusFailed || !strings.Contains(got.Message, `interpreter "no-such-python9" is not installed`) {
		t.Errorf("t = %s: %s", got.Status, got.Message)
	}
}

func TestRunRejectedBeforeRunning(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(p *v1.Pipeline)
		tasks   func(ts []*v1.Task)
		params  map[string]string
		wantErr string
	}{{
		name: "cycle",
		mutate: func(p *v1.Pipeline) {
			p.Spec.Tasks[0].RunAfter = []string{"deploy"}
		},
		wantErr: "cycle",
	}, {
		name: "missing result reference",
		mutate: func(p *v1.Pipeline) {
			p.Spec.Tasks[2].Params[0].Value = *v1.NewStructuredValues("$(tasks.train.results.no-such-result)")
		},
		wantErr: "no-such-result",
	}, {
		name:    "unknown param",
		mutate:  func(*v1.Pipeline) {},
		params:  map[string]string{"epoch": "3"},
		wantErr: "unknown param(s) epoch",
	}, {
		name: "array value that is not a JSON array",
		mutate: func(p *v1.Pipeline) {
			p.Spec.Params = append(p.Spec.Params, v1.ParamSpec{Name: "rates", Type: v1.ParamTypeArray})
		},
		params:  map[string]string{"rates": "[0.1]"},
		wantErr: "param rates: array value",
	}, {
		name:    "sidecar",
		mutate:  func(*v1.Pipeline) {},
		tasks:   func(ts []*v1.Task) { ts[0].Spec.Sidecars = []v1.Sidecar{{Name: "postgres", Image: "postgres"}} },
		wantErr: "has sidecars (postgres), which do not run locally",
	}, {
		name:    "step action",
		mutate:  func(*v1.Pipeline) {},
		tasks:   func(ts []*v1.Task) { ts[0].Spec.Steps[0] = v1.Step{Name: "clone", Ref: &v1.Ref{Name: "git-clone"}} },
		wantErr: `uses the StepAction "git-clone"`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs := gatePipeline(t, false)
			tt.mutate(objs.Pipeline)
			if tt.tasks != nil {
				tt.tasks(objs.Tasks)
			}
			opts := testOptions(t)
			opts.Params = tt.params
			_, err := Run(context.Background(), objs.Pipeline, objs.Tasks, opts)
			if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want ErrInvalid containing %q", err, tt.wantErr)
			}
			if _, err := os.Stat(opts.Root); !os.IsNotExist(err) {
				t.Errorf("state dir exists after a rejected run: %v", err)
			}
		})
	}
}

func TestRunCache(t *testing.T) {
	objs := gatePipeline(t, false)
	opts := testOptions(t)
	run := func(params map[string]string, noCache bool) *Result {
		t.Helper()
		o := opts
		o.Params, o.NoCache = params, noCache
		res, err := Run(context.Background(), objs.Pipeline, objs.Tasks, o)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Succeeded() {
			t.Fatalf("run %s failed: %s", res.RunID, res.Message)
		}
		return res
	}
	first := run(nil, false)
	second := run(nil, false)
	third := run(map[string]string{"epochs": "5"}, false)
	fourth := run(nil, true)

	tests := []struct {
		name string
		res  *Result
		want map[string]TaskStatus
	}{{
		name: "cold", res: first,
		want: map[string]TaskStatus{"prep": StatusSucceeded, "train": StatusSucceeded, "evaluate": StatusSucceeded, "register": StatusSucceeded, "deploy": StatusSucceeded, "alert": StatusSkipped},
	}, {
		// register's message holds $(context.pipelineRun.name): it differs per run.
		name: "rerun", res: second,
		want: map[string]TaskStatus{"prep": StatusCached, "train": StatusCached, "evaluate": StatusCached, "register": StatusSucceeded, "deploy": StatusCached, "alert": StatusSkipped},
	}, {
		name: "epochs changed", res: third,
		want: map[string]TaskStatus{"prep": StatusCached, "train": StatusSucceeded, "evaluate": StatusSucceeded, "register": StatusSucceeded, "deploy": StatusCached, "alert": StatusSkipped},
	}, {
		name: "no cache", res: fourth,
		want: map[string]TaskStatus{"prep": StatusSucceeded, "train": StatusSucceeded, "evaluate": StatusSucceeded, "register": StatusSucceeded, "deploy": StatusSucceeded, "alert": StatusSkipped},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := cmp.Diff(tt.want, statuses(tt.res)); d != "" {
				t.Errorf("statuses (-want +got):\n%s", d)
			}
		})
	}
	// A hit restores outputs and results into the new run's folder.
	if b, err := os.ReadFile(filepath.Join(second.Dir, "workspaces", "artifacts", "model.txt")); err != nil || !strings.Contains(string(b), "20 epochs") {
		t.Errorf("restored model.txt = %q, %v", b, err)
	}
	if got, want := second.Task("prep").Results["dataset-uri"], "file://"+filepath.Join(second.Dir, "workspaces", "artifacts", "train.csv"); got != want {
		t.Errorf("restored result = %q, want %q (pointing into the new run)", got, want)
	}

	explain := []struct {
		run, task string
		want      []string
	}{
		{run: second.RunID, task: "prep", want: []string{"cache HIT", "restored from run " + first.RunID}},
		{run: third.RunID, task: "train", want: []string{"cache MISS", "compared with run " + second.RunID, "param epochs: \"20\" -> \"5\""}},
		{run: third.RunID, task: "evaluate", want: []string{"cache MISS", "input artifact behind param model-uri changed"}},
		{run: first.RunID, task: "prep", want: []string{"cache MISS", "no earlier run"}},
		{run: fourth.RunID, task: "prep", want: []string{"not cached", "--no-cache"}},
		{run: first.RunID, task: "alert", want: []string{"skipped"}},
	}
	for _, e := range explain {
		got, err := Explain(opts.Root, e.run, e.task)
		if err != nil {
			t.Errorf("Explain(%s, %s): %v", e.run, e.task, err)
			continue
		}
		for _, w := range e.want {
			if !strings.Contains(got, w) {
				t.Errorf("Explain(%s, %s) = %q, want it to contain %q", e.run, e.task, got, w)
			}
		}
	}
	runs, err := ListRuns(opts.Root)
	if err != nil || len(runs) != 4 || runs[0].RunID != first.RunID {
		t.Errorf("ListRuns = %d runs, %v", len(runs), err)
	}
}

// TestSummaryShowsFailureReason: the summary of a failed run quotes the last lines the failing step wrote.
func TestSummaryShowsFailureReason(t *testing.T) {
	objs := gatePipeline(t, false)
	opts := testOptions(t)
	opts.Params = map[string]string{"fail": "true"}
	res, err := Run(context.Background(), objs.Pipeline, objs.Tasks, opts)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	Summary(&b, res)
	if !strings.Contains(b.String(), "  train failed: \"train\" exited with code 3\n    | training failed\n") {
		t.Errorf("summary does not quote the failing step's last line:\n%s", b.String())
	}
}

func TestLogTail(t *testing.T) {
	dir := t.TempDir()
	long := strings.Repeat("x", 10<<10) // longer than the 8 KiB window: its cut start is not shown
	path := filepath.Join(dir, "log.txt")
	if err := os.WriteFile(path, []byte("=== attempt 1, step s\n"+long+"\nfirst\n\n=== attempt 2, step s\nsecond\r\nthird  \n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, want := logTail(path, 3), []string{"first", "second", "third"}; !slices.Equal(got, want) {
		t.Errorf("logTail = %q, want %q", got, want)
	}
	if got := logTail(filepath.Join(dir, "absent"), 3); got != nil {
		t.Errorf("logTail of a missing file = %q, want nil", got)
	}
}

// TestCacheMissesWhenStepProgramChanges: a rebuilt step program (here the script SelfCommand runs) is a cache
// input, as an image digest is in a cluster.
func TestCacheMissesWhenStepProgramChanges(t *testing.T) {
	objs := mustObjects(t, `
apiVersion: tekton.dev/v1
kind: Task
metadata: {name: builtin}
spec:
  results: [{name: out}]
  steps:
  - name: s
    image: mlpipe-step
    command: [mlpipe-step, echo, --results-dir, $(results.out.path)]
---
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: prog}
spec:
  tasks:
  - {name: b, taskRef: {name: builtin}}
`, false)
	dir := t.TempDir()
	prog := filepath.Join(dir, "prog.sh")
	write := func(version string) {
		t.Helper()
		if err := os.WriteFile(prog, []byte("#!/bin/sh\nprintf "+version+" > \"$4\"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	opts := Options{Root: filepath.Join(dir, ".mlpipe"), SelfCommand: []string{"/bin/sh", prog}}
	run := func() *Result {
		t.Helper()
		res, err := Run(context.Background(), objs.Pipeline, objs.Tasks, opts)
		if err != nil || !res.Succeeded() {
			t.Fatalf("run: %v %+v", err, res)
		}
		return res
	}
	write("v1")
	if got := run().Task("b").Status; got != StatusSucceeded {
		t.Fatalf("cold run: %s", got)
	}
	if got := run().Task("b").Status; got != StatusCached {
		t.Fatalf("rerun with the same program: %s, want Cached", got)
	}
	write("v2-longer") // a rebuilt program: new content, size and mtime
	res := run()
	if b := res.Task("b"); b.Status != StatusSucceeded || b.Results["out"] != "v2-longer" {
		t.Fatalf("rerun after the program changed: %s %v, want a fresh run printing v2-longer", b.Status, b.Results)
	}
	why, err := Explain(opts.Root, res.RunID, "b")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(why, "the program step s runs was rebuilt or replaced") {
		t.Errorf("explain does not name the changed program:\n%s", why)
	}
}

// TestCacheKeysS3InputsByContent: an s3:// input is keyed by what is behind it (ETag, version), read with the
// step's own AWS_* settings: new data at the same key misses; an input that cannot be read runs uncached.
func TestCacheKeysS3InputsByContent(t *testing.T) {
	m := storetest.Start(t)
	m.MakeBucket(t, "data")
	// The host points elsewhere and has no keys a step would see: only the step's env (its endpoint param and the
	// keys of its Secret, read from MLPIPE_SECRET_*) reaches this MinIO.
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
	t.Setenv("AWS_ACCESS_KEY_ID", "host-key-the-step-must-not-see")
	t.Setenv("MLPIPE_SECRET_MLPIPE_S3_AWS_ACCESS_KEY_ID", m.AccessKey)
	t.Setenv("MLPIPE_SECRET_MLPIPE_S3_AWS_SECRET_ACCESS_KEY", m.SecretKey)
	objs := mustObjects(t, `
apiVersion: tekton.dev/v1
kind: Task
metadata: {name: read}
spec:
  params: [{name: data}, {name: endpoint}]
  steps:
  - name: read
    image: busybox
    env:
    - {name: AWS_ENDPOINT_URL, value: $(params.endpoint)}
    - {name: AWS_ACCESS_KEY_ID, valueFrom: {secretKeyRef: {name: mlpipe-s3, key: AWS_ACCESS_KEY_ID}}}
    - {name: AWS_SECRET_ACCESS_KEY, valueFrom: {secretKeyRef: {name: mlpipe-s3, key: AWS_SECRET_ACCESS_KEY}}}
    script: echo "reading $(params.data)"
---
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: s3in}
spec:
  params: [{name: data}, {name: endpoint}]
  tasks:
  - name: read
    taskRef: {name: read}
    params: [{name: data, value: $(params.data)}, {name: endpoint, value: $(params.endpoint)}]
`, false)
	opts := testOptions(t)
	put := func(data string) {
		t.Helper()
		if _, err := m.Client.PutObject(context.Background(), "data", "churn/train.csv", strings.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	run := func(uri string) *TaskResult {
		t.Helper()
		o := opts
		o.Params = map[string]string{"data": uri, "endpoint": m.URL()}
		res, err := Run(context.Background(), objs.Pipeline, objs.Tasks, o)
		if err != nil || !res.Succeeded() {
			t.Fatalf("run: %v %+v", err, res)
		}
		return res.Task("read")
	}
	put("a,b\n1,2\n")
	if got := run("s3://data/churn/train.csv").Status; got != StatusSucceeded {
		t.Fatalf("cold: %s", got)
	}
	if got := run("s3://data/churn/train.csv").Status; got != StatusCached {
		t.Fatalf("same object: %s, want Cached", got)
	}
	put("a,b\n1,2\n3,4\n")
	if got := run("s3://data/churn/train.csv").Status; got != StatusSucceeded {
		t.Fatalf("new data at the same key: %s, want a fresh run", got)
	}
	if got := run("s3://data/churn/train.csv").Status; got != StatusCached {
		t.Fatalf("rerun on the new data: %s, want Cached", got)
	}
	// A bucket that does not exist: the task runs, uncached, and the decision says why.
	for range 2 {
		if got := run("s3://missing-bucket/x.csv").Status; got != StatusSucceeded {
			t.Fatalf("unreadable input: %s, want Succeeded (uncached)", got)
		}
	}
	why, err := Explain(opts.Root, "latest", "read")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(why, "cannot be fingerprinted") {
		t.Errorf("explain for an unreadable s3 input:\n%s", why)
	}
}

// TestCacheRunParams: the cache and cache-skip params a Pipeline generated for the cluster cache passes to its
// Tasks switch the local cache the same way: cache-skip=a reruns a only, cache=false reruns both.
func TestCacheRunParams(t *testing.T) {
	objs := mustObjects(t, `
apiVersion: tekton.dev/v1
kind: Task
metadata: {name: echo}
spec:
  params: [{name: cache, default: "true"}, {name: cache-skip, default: ""}]
  steps:
  - {name: s, image: busybox, script: "echo hi"}
---
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: skip}
spec:
  params: [{name: cache, default: "true"}, {name: cache-skip, default: ""}]
  tasks:
  - name: a
    taskRef: {name: echo}
    params: [{name: cache, value: $(params.cache)}, {name: cache-skip, value: $(params.cache-skip)}]
  - name: b
    taskRef: {name: echo}
    params: [{name: cache, value: $(params.cache)}, {name: cache-skip, value: $(params.cache-skip)}]
`, false)
	opts := testOptions(t)
	run := func(params map[string]string) *Result {
		t.Helper()
		o := opts
		o.Params = params
		res, err := Run(context.Background(), objs.Pipeline, objs.Tasks, o)
		if err != nil || !res.Succeeded() {
			t.Fatalf("run: %v %+v", err, res)
		}
		return res
	}
	run(nil)
	tests := []struct {
		name   string
		params map[string]string
		want   map[string]TaskStatus
		why    string
	}{
		{"same params", nil, map[string]TaskStatus{"a": StatusCached, "b": StatusCached}, "cache HIT"},
		{"cache-skip a", map[string]string{"cache-skip": "a"}, map[string]TaskStatus{"a": StatusSucceeded, "b": StatusCached}, "task a is in the run's cache-skip list"},
		{"cache false", map[string]string{"cache": "false"}, map[string]TaskStatus{"a": StatusSucceeded, "b": StatusSucceeded}, "param cache=false"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := run(tt.params)
			if d := cmp.Diff(tt.want, statuses(res)); d != "" {
				t.Errorf("statuses (-want +got):\n%s", d)
			}
			why, err := Explain(opts.Root, res.RunID, "a")
			if err != nil || !strings.Contains(why, tt.why) {
				t.Errorf("explain a = %q, %v; want it to contain %q", why, err, tt.why)
			}
		})
	}
}
