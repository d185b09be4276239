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
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	trresources "github.com/tektoncd/pipeline/pkg/reconciler/taskrun/resources"
	"sigs.k8s.io/yaml"

	"github.com/mlpipe/mlpipe/pkg/cache"
	"github.com/mlpipe/mlpipe/pkg/clusteraccess/clusteraccesstest"
	"github.com/mlpipe/mlpipe/pkg/generate"
	"github.com/mlpipe/mlpipe/pkg/localrun"
	"github.com/mlpipe/mlpipe/pkg/spec"
	"github.com/mlpipe/mlpipe/pkg/steps"
)

// TestLocalRunAndPodShareCacheKeys: the churn example generated with a cluster cache, run locally with that
// store as --cache-store, then its preprocess and train Tasks run the way a Pod runs them (the Task's step
// with Tekton's param substitution, the workspace at another path, the tekton.dev labels as env): the Pod's
// preprocess has the local key and restores the local run's dataset; the Pod's train with other epochs misses
// and stores, and a local run with those epochs then reuses the Pod's entry.
func TestLocalRunAndPodShareCacheKeys(t *testing.T) {
	t.Setenv(selfEnv, "1")
	t.Setenv("MLPIPE_SECRET_MLPIPE_ALERT_URL", "http://127.0.0.1:1/unused")
	t.Setenv("KUBECONFIG", clusteraccesstest.NewAPIServer(t).Kubeconfig)
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	ctx := context.Background()
	s, err := spec.LoadFile(filepath.Join("..", "..", "examples", "churn", "mlpipe.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s.LocalDataPath()
	s.Spec.Register.Store = "file://" + filepath.Join(t.TempDir(), "registry")
	shared := "file://" + filepath.Join(t.TempDir(), "shared-cache")
	s.Spec.Cache.Store = shared
	out, err := generate.Generate(ctx, s, generate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	opts := localrun.Options{Root: filepath.Join(t.TempDir(), ".mlpipe"), SelfCommand: []string{os.Args[0]}, PassEnv: []string{selfEnv}, CacheStore: shared}
	local, err := localrun.Run(ctx, out.Pipeline, out.Tasks, opts)
	if err != nil || !local.Succeeded() {
		t.Fatalf("local run: %v %+v", err, local)
	}
	pre := local.Task("preprocess")
	if pre.Results[cache.ResultCache] != cache.Miss || pre.Results[cache.ResultKey] != pre.CacheKey || pre.CacheKey == "" {
		t.Fatalf("local preprocess results = %v, key %s: want cache=miss and its key", pre.Results, pre.CacheKey)
	}

	pod := t.TempDir() // the Pod's workspace: another volume, another path
	localWS := filepath.Join(local.Dir, "workspaces", "artifacts")
	got := runLikePod(t, out, local, "preprocess", pod, nil)
	if got[cache.ResultCache] != cache.Hit || got[cache.ResultKey] != pre.CacheKey {
		t.Fatalf("the Pod's preprocess results = %v, want a hit on the local key %s", got, pre.CacheKey)
	}
	if want := strings.ReplaceAll(pre.Results["dataset-uri"], localWS, pod); got["dataset-uri"] != want {
		t.Errorf("the Pod's dataset-uri = %q, want %q", got["dataset-uri"], want)
	}
	for _, f := range []string{"train.arrow", "test.arrow", "schema.json"} {
		a, errA := os.ReadFile(filepath.Join(localWS, "dataset", f))
		b, errB := os.ReadFile(filepath.Join(pod, "dataset", f))
		if errA != nil || errB != nil || !bytes.Equal(a, b) {
			t.Errorf("restored dataset/%s differs from the local run's (%v, %v)", f, errA, errB)
		}
	}

	podTrain := runLikePod(t, out, local, "train", pod, map[string]string{"epochs": "7"})
	if podTrain[cache.ResultCache] != cache.Miss {
		t.Fatalf("the Pod's train with epochs 7 = %v, want a miss", podTrain)
	}
	// A fresh registry: no champion to beat, so the gate passes on the threshold and the run succeeds.
	opts.Params = map[string]string{"epochs": "7", "model-store": "file://" + filepath.Join(t.TempDir(), "registry")}
	again, err := localrun.Run(ctx, out.Pipeline, out.Tasks, opts)
	if err != nil || !again.Succeeded() {
		t.Fatalf("second local run: %v %+v", err, again)
	}
	if tr := again.Task("train"); tr.Status != localrun.StatusCached || tr.CachedFrom != "pod-run" || tr.CacheKey != podTrain[cache.ResultKey] {
		t.Errorf("local train with epochs 7 = %s from %q key %s, want Cached from the Pod's pod-run entry %s", tr.Status, tr.CachedFrom, tr.CacheKey, podTrain[cache.ResultKey])
	}
}

// runLikePod runs pipeline task name's step in this process as Tekton would in a Pod: the Task's spec with the
// local run's resolved params (override replacing some), the workspace at ws, the env Tekton and the kubelet
// give it. It returns the results.
func runLikePod(t *testing.T, out *generate.Output, local *localrun.Result, name, ws string, override map[string]string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(local.Dir, "tasks", name, "taskrun.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var tr v1.TaskRun
	if err := yaml.Unmarshal(data, &tr); err != nil {
		t.Fatal(err)
	}
	localWS := filepath.Join(local.Dir, "workspaces", "artifacts")
	for i, p := range tr.Spec.Params {
		if v, ok := override[p.Name]; ok {
			tr.Spec.Params[i].Value = *v1.NewStructuredValues(v)
		} else if p.Value.Type == v1.ParamTypeString {
			tr.Spec.Params[i].Value = *v1.NewStructuredValues(strings.ReplaceAll(p.Value.StringVal, localWS, ws))
		}
	}
	var task *v1.Task
	for _, tk := range out.Tasks {
		if tk.Name == tr.Spec.TaskRef.Name {
			task = tk
		}
	}
	if task == nil {
		t.Fatalf("no Task %s", tr.Spec.TaskRef.Name)
	}
	ts := trresources.ApplyParameters(task.Spec.DeepCopy(), &tr, task.Spec.Params...)
	step := ts.Steps[0]
	sub := func(s string) string { return strings.ReplaceAll(s, "$(workspaces.artifacts.path)", ws) }
	labels := map[string]string{
		"metadata.labels['tekton.dev/pipeline']": "churn", "metadata.labels['tekton.dev/pipelineRun']": "pod-run",
		"metadata.labels['tekton.dev/pipelineTask']": name,
	}
	for _, e := range step.Env {
		switch {
		case e.ValueFrom == nil:
			t.Setenv(e.Name, sub(e.Value))
		case e.ValueFrom.FieldRef != nil:
			t.Setenv(e.Name, labels[e.ValueFrom.FieldRef.FieldPath])
		}
	}
	results := t.TempDir()
	args := []string{}
	for _, a := range step.Args {
		args = append(args, sub(a))
	}
	root := steps.NewStepsRoot()
	var logs bytes.Buffer
	root.SetOut(&logs)
	root.SetErr(&logs)
	root.SetArgs(append(args, "--results-dir", results))
	if err := root.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("the Pod's %s: %v\n%s", name, err, logs.String())
	}
	t.Logf("the Pod's %s:\n%s", name, logs.String())
	entries, err := os.ReadDir(results)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(results, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		got[e.Name()] = string(b)
	}
	return got
}
