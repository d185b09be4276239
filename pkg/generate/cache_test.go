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

package generate

import (
	"context"
	"slices"
	"strings"
	"testing"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"

	"github.com/mlpipe/mlpipe/pkg/cache"
	"github.com/mlpipe/mlpipe/pkg/cache/taskdigest"
	"github.com/mlpipe/mlpipe/pkg/spec"
)

func stepEnv(task *v1.Task) map[string]string {
	env := map[string]string{}
	for _, e := range task.Spec.Steps[0].Env {
		env[e.Name] = e.Value
		if e.ValueFrom != nil && e.ValueFrom.FieldRef != nil {
			env[e.Name] = "fieldRef:" + e.ValueFrom.FieldRef.FieldPath
		}
	}
	return env
}

func taskFor(t *testing.T, out *Output, step string) *v1.Task {
	t.Helper()
	for _, task := range out.Tasks {
		if task.Labels["app.kubernetes.io/component"] == step {
			return task
		}
	}
	t.Fatalf("no Task for step %s", step)
	return nil
}

// TestGenerateClusterCache: with spec.cache.store the built-in preprocess, train and evaluate Tasks get the
// cache env (the Task's digest, the store, the key's params), the cache and cache-key results and the cache
// params, the Pipeline gets cache and cache-skip params and passes them on; register and alert get none.
// The digest is the one of the same Task generated without the cache, so switching it on keeps the identity.
func TestGenerateClusterCache(t *testing.T) {
	on, err := Generate(context.Background(), loadTestdata(t, "cluster-cache"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	offSpec := loadTestdata(t, "cluster-cache")
	offSpec.Spec.Cache = &spec.Cache{Enabled: offSpec.Spec.Cache.Enabled}
	off, err := Generate(context.Background(), offSpec, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []string{"preprocess", "train", "evaluate"} {
		t.Run(step, func(t *testing.T) {
			task := taskFor(t, on, step)
			if task.Name != "churn-"+step {
				t.Errorf("Task name = %s, want churn-%s (it carries this pipeline's store)", task.Name, step)
			}
			env := stepEnv(task)
			plain := taskFor(t, off, step)
			if want := taskdigest.Digest(&plain.Spec); env[cache.EnvTask] != want {
				t.Errorf("%s = %q, want the digest of the Task without the cache %q", cache.EnvTask, env[cache.EnvTask], want)
			}
			if _, ok := stepEnv(plain)[cache.EnvStore]; ok {
				t.Errorf("the Task without spec.cache.store has %s", cache.EnvStore)
			}
			want := map[string]string{
				cache.EnvStore: "s3://mlpipe-cache/churn", cache.EnvMaxAge: "720h",
				cache.EnvEnabled: "$(params.cache)", cache.EnvSkip: "$(params.cache-skip)",
				cache.EnvPipelineTask: "fieldRef:metadata.labels['tekton.dev/pipelineTask']",
				cache.EnvPipelineRun:  "fieldRef:metadata.labels['tekton.dev/pipelineRun']",
				cache.EnvWorkspaces:   "artifacts=$(workspaces.artifacts.path)",
				"AWS_ENDPOINT_URL":    "$(params.s3-endpoint)",
			}
			for k, v := range want {
				if env[k] != v {
					t.Errorf("env %s = %q, want %q", k, env[k], v)
				}
			}
			var names []string
			for _, p := range task.Spec.Params {
				if !cache.IsOwnParam(p.Name) {
					names = append(names, p.Name)
				}
				if !cache.IsOwnParam(p.Name) && env[cache.ParamEnv(p.Name)] != "$(params."+p.Name+")" {
					t.Errorf("env %s = %q, want $(params.%s)", cache.ParamEnv(p.Name), env[cache.ParamEnv(p.Name)], p.Name)
				}
			}
			if got := strings.Split(env[cache.EnvParams], ","); !slices.Equal(got, names) {
				t.Errorf("%s = %v, want every param of the Task %v", cache.EnvParams, got, names)
			}
			var results []string
			for _, r := range task.Spec.Results {
				results = append(results, r.Name)
			}
			if !slices.Contains(results, cache.ResultCache) || !slices.Contains(results, cache.ResultKey) {
				t.Errorf("results = %v, want cache and cache-key among them", results)
			}
		})
	}
	if env := stepEnv(taskFor(t, on, "register")); env[cache.EnvStore] != "" || env[cache.EnvTask] != "" {
		t.Errorf("register got the cache env: it acts on the registry")
	}
	var skipDefault, cacheDefault string
	for _, p := range on.Pipeline.Spec.Params {
		switch p.Name {
		case cache.ParamEnabled:
			cacheDefault = p.Default.StringVal
		case cache.ParamSkip:
			skipDefault = "set:" + p.Default.StringVal
		}
	}
	if cacheDefault != "true" || skipDefault != "set:" {
		t.Errorf("Pipeline params cache=%q cache-skip=%q, want defaults \"true\" and \"\"", cacheDefault, skipDefault)
	}
	for _, pt := range on.Pipeline.Spec.Tasks {
		passes := false
		for _, p := range pt.Params {
			passes = passes || p.Name == cache.ParamSkip && p.Value.StringVal == "$(params.cache-skip)"
		}
		if cached := cache.CachedStep(pt.Name); passes != cached {
			t.Errorf("pipeline task %s passes cache-skip: %t, want %t", pt.Name, passes, cached)
		}
	}
}

// TestGenerateClusterCacheUserImage: a step replaced by the user's container is not cached (it has no hook).
func TestGenerateClusterCacheUserImage(t *testing.T) {
	p := loadTestdata(t, "cluster-cache")
	p.Spec.Steps.Train = &spec.Step{Image: "python:3.12", ScriptText: "python train.py\n"}
	out, err := Generate(context.Background(), p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if env := stepEnv(taskFor(t, out, "train")); env[cache.EnvStore] != "" {
		t.Errorf("a user's train container got the cache env")
	}
	if env := stepEnv(taskFor(t, out, "preprocess")); env[cache.EnvStore] == "" {
		t.Errorf("the built-in preprocess lost the cache env")
	}
}
