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

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlpipe/mlpipe/test/cluster"
)

// devClusterEnv are the variables `make dev-cluster-up` promises in its env file (README, issue 11).
var devClusterEnv = []string{"KUBECONFIG", "PATH", "AWS_ENDPOINT_URL", "MLPIPE_POD_S3_ENDPOINT", "AWS_ACCESS_KEY_ID",
	"AWS_SECRET_ACCESS_KEY", "AWS_REGION", "MLPIPE_STEP_IMAGE"}

// TestRealNodeDevCluster drives the Makefile's contract as a user does: make dev-cluster-up returns once ready and
// writes the env file; with it sourced, kubectl and tkn are on PATH, the node is Ready, a Pod of the step image runs
// to completion and MinIO answers; make dev-cluster-down then leaves no process, mount, cgroup or bridge behind.
func TestRealNodeDevCluster(t *testing.T) {
	tools, err := cluster.FindTools()
	if err != nil {
		t.Fatal(err)
	}
	if err := cluster.RealNodeUnavailable(tools, "kubectl"); err != nil {
		cluster.Unavailable(t, "no real node: "+err.Error())
	}
	root, err := cluster.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	makeTarget := func(target string, timeout time.Duration) string {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, "make", "-C", root, "--no-print-directory", target)
		cmd.Env = append(withoutMake(os.Environ()), "MLPIPE_DEV_CLUSTER_DIR="+state)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("make %s: %v\n%s\nlog:\n%s", target, err, out, readTail(filepath.Join(state, "log")))
		}
		return string(out)
	}
	down := func() { makeTarget("dev-cluster-down", 2*time.Minute) }

	out := makeTarget("dev-cluster-up", 8*time.Minute)
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			down()
		}
	})
	if !strings.Contains(out, "dev-cluster: ready") {
		t.Fatalf("make dev-cluster-up did not say it is ready:\n%s", out)
	}
	pid, err := os.ReadFile(filepath.Join(state, "pid"))
	if err != nil {
		t.Fatal(err)
	}
	envFile := filepath.Join(state, "env")
	env := readExports(t, envFile)
	for _, k := range devClusterEnv {
		if env[k] == "" {
			t.Errorf("%s has no export of %s", envFile, k)
		}
	}
	var node struct{ NodeDir, Bridge string }
	b, err := os.ReadFile(filepath.Join(state, "node.json"))
	if err != nil {
		t.Fatalf("dev-cluster did not start a real node on a machine that can run one: %v\nlog:\n%s", err, readTail(filepath.Join(state, "log")))
	}
	if err := json.Unmarshal(b, &node); err != nil || node.NodeDir == "" || node.Bridge == "" {
		t.Fatalf("node.json %q: %v", b, err)
	}

	// As the README's walk-through does: source the file in a shell, then kubectl and tkn.
	script := `set -e
source "$1"
kubectl get nodes -o 'jsonpath={.items[0].status.conditions[?(@.type=="Ready")].status}{"\n"}'
tkn version --component client >/dev/null
kubectl run devcluster-probe --image "$MLPIPE_STEP_IMAGE" --restart=Never --command -- /ko-app/mlpipe-step --help >/dev/null
kubectl wait --for=jsonpath='{.status.phase}'=Succeeded pod/devcluster-probe --timeout=120s >/dev/null
kubectl logs devcluster-probe | head -1
`
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	sh := exec.CommandContext(ctx, "bash", "-c", script, "bash", envFile)
	sh.Env = withoutMake(os.Environ())
	got, err := sh.CombinedOutput()
	if err != nil {
		t.Fatalf("walk-through commands: %v\n%s", err, got)
	}
	lines := strings.Split(strings.TrimSpace(string(got)), "\n")
	if len(lines) < 2 || lines[0] != "True" || !strings.Contains(lines[1], "Run one pipeline step") {
		t.Fatalf("want the node Ready (True) and the step image's help, got:\n%s", got)
	}
	resp, err := http.Get(strings.TrimSuffix(env["AWS_ENDPOINT_URL"], "/") + "/minio/health/live")
	if err != nil {
		t.Fatalf("MinIO at AWS_ENDPOINT_URL: %v", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("MinIO health: %s", resp.Status)
	}

	down()
	stopped = true
	if _, err := os.Stat(envFile); !os.IsNotExist(err) {
		t.Errorf("make dev-cluster-down left %s (stat: %v)", envFile, err)
	}
	if procs := processesNaming(state); len(procs) > 0 {
		t.Errorf("processes still running from the dev cluster (pid %s): %v", strings.TrimSpace(string(pid)), procs)
	}
	if left := cluster.NodeLeftOver(node.NodeDir, node.Bridge); len(left) > 0 {
		t.Errorf("make dev-cluster-down left behind: %v", left)
	}
}

// readExports parses the env file's `export NAME='value'` lines (PATH keeps its `:"$PATH"` tail).
func readExports(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "export ")
		if !ok {
			t.Errorf("%s: line %q is not an export", path, sc.Text())
			continue
		}
		k, v, _ := strings.Cut(line, "=")
		v = strings.TrimSuffix(v, `:"$PATH"`)
		env[k] = strings.Trim(v, "'")
	}
	return env
}

// processesNaming lists the command lines of running processes that mention dir.
func processesNaming(dir string) []string {
	var out []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.Contains(b, []byte(dir)) {
			continue
		}
		out = append(out, e.Name()+": "+strings.ReplaceAll(string(bytes.TrimRight(b, "\x00")), "\x00", " "))
	}
	return out
}

// withoutMake drops the variables of an enclosing make (make test), so the child make starts fresh.
func withoutMake(env []string) []string {
	var out []string
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k == "MAKEFLAGS" || k == "MAKELEVEL" || k == "MFLAGS" {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// readTail is the last 4 KiB of a log file, for failure messages.
func readTail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 4096 {
		b = b[len(b)-4096:]
	}
	return string(b)
}
