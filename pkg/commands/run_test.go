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
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// selfEnv makes this test binary act as the mlpipe binary (cmd/mlpipe's main), so that tests run `mlpipe` as a
// child process (exit status, signals) and the runner's built-in steps run as "<test binary> step ...".
const selfEnv = "MLPIPE_COMMANDS_TEST_SELF"

func TestMain(m *testing.M) {
	if os.Getenv(selfEnv) == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := Execute(ctx, os.Args[1:], os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// gateRunYAML is a Pipeline of the generated shape, with scripts for train and evaluate: train fails when
// param fail is "true", evaluate's passed result is param passed, train sleeps param sleep seconds after
// touching $(params.marker), and the finally alert (the built-in step, its webhook in a Secret) runs when the
// gate did not pass.
const gateRunYAML = `
apiVersion: tekton.dev/v1
kind: Task
metadata: {name: train}
spec:
  params: [{name: fail}, {name: sleep}, {name: marker}]
  steps:
  - name: train
    image: busybox
    script: |
      touch "$(params.marker)"
      sleep "$(params.sleep)"
      test "$(params.fail)" = "false" || { echo "training failed" >&2; exit 4; }
---
apiVersion: tekton.dev/v1
kind: Task
metadata: {name: evaluate}
spec:
  params: [{name: passed}]
  results: [{name: accuracy}, {name: passed}]
  steps:
  - name: evaluate
    image: busybox
    script: |
      printf 0.8 > $(results.accuracy.path)
      printf "%s" "$(params.passed)" > $(results.passed.path)
---
apiVersion: tekton.dev/v1
kind: Task
metadata: {name: alert}
spec:
  params: [{name: status}, {name: passed}, {name: pipeline-run}]
  steps:
  - name: alert
    image: ko://github.com/mlpipe/mlpipe/cmd/mlpipe-step
    command: [mlpipe-step]
    args: [alert, --status=$(params.status), --pipeline-run=$(params.pipeline-run), --metric=accuracy,
      --threshold=0.9, --value=0.8, --passed=$(params.passed), --retries=0]
    env:
    - name: ALERT_WEBHOOK_URL
      valueFrom: {secretKeyRef: {name: mlpipe-alert, key: url}}
---
apiVersion: tekton.dev/v1
kind: Pipeline
metadata:
  name: gate
  annotations: {mlpipe.dev/gate-task: evaluate, mlpipe.dev/gate-metric: accuracy, mlpipe.dev/gate-threshold: "0.9"}
spec:
  params:
  - {name: fail, default: "false"}
  - {name: passed, default: "true"}
  - {name: sleep, default: "0"}
  - {name: marker, default: /dev/null}
  tasks:
  - name: train
    taskRef: {name: train}
    params:
    - {name: fail, value: $(params.fail)}
    - {name: sleep, value: $(params.sleep)}
    - {name: marker, value: $(params.marker)}
  - name: evaluate
    taskRef: {name: evaluate}
    runAfter: [train]
    params: [{name: passed, value: $(params.passed)}]
  finally:
  - name: alert
    taskRef: {name: alert}
    when: [{input: $(tasks.evaluate.results.passed), operator: notin, values: ["true"]}]
    params:
    - {name: status, value: $(tasks.status)}
    - {name: passed, value: $(tasks.evaluate.results.passed)}
    - {name: pipeline-run, value: $(context.pipelineRun.name)}
`

// mlpipeCmd returns `mlpipe run --dir <gate pipeline>` as a child process of this test binary, with its state
// in a temp folder; env adds variables to the child's environment.
func mlpipeCmd(t *testing.T, env []string, args ...string) (*exec.Cmd, string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pipeline.yaml"), []byte(gateRunYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(t.TempDir(), "state")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	argv := append([]string{"run", "--dir", dir, "--state-dir", state, "--no-cache", "--pass-env", selfEnv}, args...)
	cmd := exec.Command(self, argv...)
	cmd.Env = append(append(os.Environ(), selfEnv+"=1"), env...)
	return cmd, state
}

// TestRunExitCodes: 0 when the run succeeded and the gate passed, 3 when only the gate failed (an alert with no
// webhook configured prints its message and is no failure; one a webhook accepts neither), 2 when a task failed
// (a webhook that refuses the alert included).
func TestRunExitCodes(t *testing.T) {
	var posts atomic.Int32
	accept := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { posts.Add(1) }))
	defer accept.Close()
	refuse := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no such channel", http.StatusForbidden)
	}))
	defer refuse.Close()
	tests := []struct {
		name     string
		env      []string
		params   []string
		wantCode int
		wantOut  []string // lines or fragments stdout must hold
		wantNot  string   // a fragment stdout must not hold
	}{
		{name: "succeeded, gate passed", wantCode: 0, wantOut: []string{"PipelineRun gate-", "Succeeded", "passed"}, wantNot: "alert not sent"},
		{name: "gate failed, no webhook configured", params: []string{"-p", "passed=false"}, wantCode: 3,
			wantOut: []string{"FAILED", "alert not sent (no webhook configured on this machine); it would say:",
				"finished with status Succeeded; evaluation gate did not pass (accuracy = 0.8000, threshold 0.9)"}},
		{name: "gate failed, webhook accepts", params: []string{"-p", "passed=false"}, env: []string{"MLPIPE_SECRET_MLPIPE_ALERT_URL=" + accept.URL},
			wantCode: 3, wantNot: "alert not sent"},
		{name: "gate failed, webhook refuses", params: []string{"-p", "passed=false"}, env: []string{"MLPIPE_SECRET_MLPIPE_ALERT_URL=" + refuse.URL},
			wantCode: 2, wantOut: []string{"alert failed:", "403 Forbidden"}},
		{name: "task failed", params: []string{"-p", "fail=true"}, wantCode: 2, wantOut: []string{"train failed:", "training failed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd, _ := mlpipeCmd(t, tt.env, tt.params...)
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			err := cmd.Run()
			code := 0
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				code = exit.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.wantCode {
				t.Errorf("exit status %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, out.String(), errb.String())
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(out.String(), w) {
					t.Errorf("stdout does not hold %q:\n%s", w, out.String())
				}
			}
			if tt.wantNot != "" && strings.Contains(out.String(), tt.wantNot) {
				t.Errorf("stdout holds %q:\n%s", tt.wantNot, out.String())
			}
		})
	}
	if n := posts.Load(); n != 1 {
		t.Errorf("the accepting webhook got %d alerts, want 1", n)
	}
}

// TestRunCtrlC: SIGINT to `mlpipe run` while a step sleeps ends it with status 130 within seconds, the run
// recorded as Cancelled and the running task as Cancelled (not Failed); the later tasks never ran.
func TestRunCtrlC(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "started")
	cmd, state := mlpipeCmd(t, nil, "-p", "sleep=60", "-p", "marker="+marker, "-o", "json")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(marker); err == nil {
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("the train step did not start within 30s\nstderr:\n%s", errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	sent := time.Now()
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 130 {
		t.Fatalf("mlpipe run ended with %v, want exit status 130\nstdout:\n%s\nstderr:\n%s", err, out.String(), errb.String())
	}
	if took := time.Since(sent); took > 10*time.Second {
		t.Errorf("mlpipe run took %s to stop after SIGINT", took)
	}
	paths, _ := filepath.Glob(filepath.Join(state, "runs", "gate", "*", "run.json"))
	if len(paths) != 1 {
		t.Fatalf("want one run record, found %v", paths)
	}
	f, err := os.Open(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rec struct {
		Status, Reason string
		Tasks          []struct{ Name, Status string }
	}
	b, _ := io.ReadAll(f)
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, task := range rec.Tasks {
		got[task.Name] = task.Status
	}
	if rec.Reason != "Cancelled" || got["train"] != "Cancelled" || got["evaluate"] != "Skipped" || got["alert"] != "Skipped" {
		t.Errorf("run recorded %s (%s), tasks %v; want Failed (Cancelled), train Cancelled, evaluate and alert Skipped\n%s", rec.Status, rec.Reason, got, b)
	}
	var doc struct {
		ExitCode int `json:"exitCode"`
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil || doc.ExitCode != 130 {
		t.Errorf("-o json: exitCode %d (%v), want 130:\n%s", doc.ExitCode, err, out.String())
	}
}

// locationYAML's task reports the data-uri and model-store params it was given.
const locationYAML = `
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: locations}
spec:
  params: [{name: data-uri}, {name: model-store}, {name: label}, {name: exclude, default: ""}]
  tasks:
  - name: report
    params:
    - {name: data-uri, value: $(params.data-uri)}
    - {name: model-store, value: $(params.model-store)}
    - {name: label, value: $(params.label)}
    - {name: exclude, value: $(params.exclude)}
    taskSpec:
      params: [{name: data-uri}, {name: model-store}, {name: label}, {name: exclude}]
      results: [{name: data-uri}, {name: model-store}, {name: label}, {name: exclude}]
      steps:
      - name: report
        image: busybox
        script: |
          printf "%s" "$(params.data-uri)" > $(results.data-uri.path)
          printf "%s" "$(params.model-store)" > $(results.model-store.path)
          printf "%s" "$(params.label)" > $(results.label.path)
          printf "%s" "$EXCLUDE" > $(results.exclude.path)
        env: [{name: EXCLUDE, value: $(params.exclude)}]
`

// TestRunRelativeLocationParams: `mlpipe run --dir out -p data-uri=examples/data/churn.csv` means the file
// relative to the working directory, not to the step's folder under .mlpipe; other params stay as given, but
// the list param exclude given as a JSON array (as the README shows for arrays) reaches the step as its CSV line.
func TestRunRelativeLocationParams(t *testing.T) {
	cwd := t.TempDir()
	t.Chdir(cwd)
	writeTestFile(t, filepath.Join(cwd, "out", "pipeline.yaml"), locationYAML)
	stdout, stderr, err := runCLI(t, "run", "--dir", "out", "-o", "json",
		"-p", "data-uri=examples/data/churn.csv", "-p", "model-store=file:///models", "-p", "label=churned",
		"-p", `exclude=["id", "notes, free text"]`)
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, stdout, stderr)
	}
	var doc struct {
		Tasks []struct{ Results map[string]string }
	}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil || len(doc.Tasks) != 1 {
		t.Fatalf("%v: %s", err, stdout)
	}
	want := map[string]string{"data-uri": filepath.Join(cwd, "examples", "data", "churn.csv"), "model-store": "file:///models", "label": "churned",
		"exclude": `id,"notes, free text"`}
	for k, v := range want {
		if got := doc.Tasks[0].Results[k]; got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
}

func writeTestFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestRunsList: runs list filters by pipeline, status and count, shows the params each run was given, and
// prints the run records as JSON with -o json.
func TestRunsList(t *testing.T) {
	cwd := t.TempDir()
	t.Chdir(cwd)
	writeTestFile(t, filepath.Join(cwd, "out", "pipeline.yaml"), locationYAML)
	for _, label := range []string{"first", "second"} {
		if _, stderr, err := runCLI(t, "run", "--dir", "out", "--state-dir", "state", "-p", "data-uri=d.csv", "-p", "model-store=m", "-p", "label="+label); err != nil {
			t.Fatalf("%v\n%s", err, stderr)
		}
	}
	out, _, err := runCLI(t, "runs", "list", "--state-dir", "state", "--pipeline", "locations", "--last", "1")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	wantParams := "data-uri=" + filepath.Join(cwd, "d.csv") + ",label=second,model-store=" + filepath.Join(cwd, "m")
	if len(lines) != 2 || !strings.HasSuffix(lines[0], "PARAMS") || !strings.HasSuffix(lines[1], wantParams) || !strings.Contains(lines[1], " Succeeded ") {
		t.Errorf("runs list --last 1:\n%s\nwant a header and one Succeeded row ending in %s", out, wantParams)
	}
	out, _, err = runCLI(t, "runs", "list", "--state-dir", "state", "--status", "failed")
	if err != nil || strings.TrimSpace(out) != "None of the 2 recorded runs matches." {
		t.Errorf("runs list --status failed: %q, %v", out, err)
	}
	out, _, err = runCLI(t, "runs", "list", "--state-dir", "state", "-o", "json", "--status", "succeeded")
	if err != nil {
		t.Fatal(err)
	}
	var docs []struct {
		Pipeline, Status string
		Overrides        map[string]string
		Params           map[string]string
	}
	if err := json.Unmarshal([]byte(out), &docs); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if len(docs) != 2 || docs[0].Overrides["label"] != "first" || docs[1].Overrides["label"] != "second" || docs[1].Params["label"] != "second" || docs[1].Status != "Succeeded" {
		t.Errorf("runs list -o json: %+v", docs)
	}
}

// TestRunsListMetricFormat: runs list shows gate metrics with the one rule of mlpipe's displays, four decimals.
func TestRunsListMetricFormat(t *testing.T) {
	state := t.TempDir()
	for id, value := range map[string]string{"r1": "1", "r2": "0.98", "r3": "0.8354430379746836"} {
		writeTestFile(t, filepath.Join(state, "runs", "churn", id, "run.json"),
			`{"runID":"`+id+`","pipeline":"churn","status":"Succeeded","gate":{"task":"evaluate","metric":"accuracy","value":`+value+`,"passed":true}}`)
	}
	out, _, err := runCLI(t, "runs", "list", "--state-dir", state)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{" accuracy=1.0000 ", " accuracy=0.9800 ", " accuracy=0.8354 "} {
		if !strings.Contains(out, want) {
			t.Errorf("runs list lacks %q:\n%s", want, out)
		}
	}
}

// TestVersionFlag: mlpipe --version prints what mlpipe version does.
func TestVersionFlag(t *testing.T) {
	flag, _, err := runCLI(t, "--version")
	if err != nil {
		t.Fatal(err)
	}
	verb, _, err := runCLI(t, "version")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(flag, "mlpipe devel (tektoncd/pipeline ") || flag != verb {
		t.Errorf("--version printed %q, version %q", flag, verb)
	}
}
