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

package integration

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mlpipe/mlpipe/pkg/clusteraccess/clusteraccesstest"
	"github.com/mlpipe/mlpipe/pkg/commands"
	"github.com/mlpipe/mlpipe/pkg/generate"
	"github.com/mlpipe/mlpipe/pkg/localrun"
	"github.com/mlpipe/mlpipe/pkg/spec"
)

// selfEnv makes this test binary act as the mlpipe CLI, so generated steps
// (command mlpipe-step) run as "<test binary> step ...".
const selfEnv = "MLPIPE_LOCALRUN_TEST_SELF"

func TestMain(m *testing.M) {
	if os.Getenv(selfEnv) == "1" {
		root := commands.New()
		root.SetArgs(os.Args[1:])
		if err := root.ExecuteContext(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(commands.ExitCode(err))
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestLocalRunExample runs the bundled example end to end: generated objects,
// built-in steps, gate, cache on a rerun that changes only epochs. KUBECONFIG
// names a live-looking API server that records every request: a local run
// must send it none, and only --deploy-to-cluster lets deploy reach it.
func TestLocalRunExample(t *testing.T) {
	t.Setenv(selfEnv, "1")
	t.Setenv("MLPIPE_SECRET_MLPIPE_ALERT_URL", "http://127.0.0.1:1/unused")
	cluster := clusteraccesstest.NewAPIServer(t)
	t.Setenv("KUBECONFIG", cluster.Kubeconfig)
	t.Setenv("KUBERNETES_SERVICE_HOST", "") // not in a Pod, even when the tests run in one
	ctx := context.Background()
	s, err := spec.LoadFile(filepath.Join("..", "..", "examples", "churn", "mlpipe.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s.LocalDataPath()
	s.Spec.Register.Store = "file://" + filepath.Join(t.TempDir(), "registry")
	out, err := generate.Generate(ctx, s, generate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(t.TempDir(), ".mlpipe")
	opts := localrun.Options{Root: root, SelfCommand: []string{os.Args[0]}, PassEnv: []string{selfEnv}}
	first, err := localrun.Run(ctx, out.Pipeline, out.Tasks, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !first.Succeeded() {
		for _, task := range first.Tasks {
			t.Logf("%s: %s %s %s", task.Name, task.Status, task.Reason, task.Message)
		}
		t.Fatalf("first run %s: %s", first.Status, first.Message)
	}
	if got := first.Task("deploy"); got == nil || got.Status != localrun.StatusSucceeded {
		t.Errorf("deploy = %+v, want Succeeded", got)
	}
	if log := taskLog(t, first, "deploy"); !strings.Contains(log, "local run: printed, not applied") || !strings.Contains(log, "kind: InferenceService") {
		t.Errorf("deploy's log does not say it printed the InferenceService and did not apply it:\n%s", log)
	}
	opts.Params = map[string]string{"epochs": "5"}
	second, err := localrun.Run(ctx, out.Pipeline, out.Tasks, opts)
	if err != nil {
		t.Fatal(err)
	}
	if got := second.Task("preprocess"); got == nil || got.Status != localrun.StatusCached {
		t.Errorf("preprocess on the epochs-only rerun = %+v, want Cached", got)
	}
	if got := second.Task("train"); got == nil || got.Status == localrun.StatusCached {
		t.Errorf("train on the epochs-only rerun = %+v, want it to run", got)
	}
	if got := cluster.Requests(); len(got) != 0 {
		t.Fatalf("local runs sent %d requests to the cluster KUBECONFIG names, want none: %v", len(got), got)
	}

	t.Run("deploy-to-cluster", func(t *testing.T) {
		alert := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		defer alert.Close()
		t.Setenv("MLPIPE_SECRET_MLPIPE_ALERT_URL", alert.URL) // the failed run alerts: answer at once
		o := opts
		// The first run's params, with an empty registry: its gate passes on the threshold (against the first run's
		// champion, the same model would tie, and a tie never passes).
		o.Params, o.DeployToCluster = map[string]string{"model-store": "file://" + filepath.Join(t.TempDir(), "registry")}, true
		o.Timeouts = &v1.TimeoutFields{Pipeline: &metav1.Duration{Duration: 2 * time.Minute}}
		res, err := localrun.Run(ctx, out.Pipeline, out.Tasks, o)
		if err != nil {
			t.Fatal(err)
		}
		// The stand-in server refuses the apply, so the run fails; deploy must have tried, not been cached.
		want := "PATCH /apis/serving.kserve.io/v1beta1/namespaces/default/inferenceservices/churn"
		if got := cluster.Requests(); !slices.Contains(got, want) {
			for _, task := range res.Tasks {
				t.Logf("%s: %s %s %s", task.Name, task.Status, task.Reason, task.Message)
			}
			t.Errorf("requests = %v, want %q\ndeploy's log:\n%s", got, want, taskLog(t, res, "deploy"))
		}
	})
}

// taskLog returns the log of a task of a run.
func taskLog(t *testing.T, res *localrun.Result, task string) string {
	t.Helper()
	rel := filepath.Join("tasks", task, "log.txt")
	if got := res.Task(task); got != nil && got.Log != "" {
		rel = got.Log
	}
	b, err := os.ReadFile(filepath.Join(res.Dir, rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
