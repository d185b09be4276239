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

package taskdigest

import (
	"testing"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/mlpipe/mlpipe/pkg/cache"
)

func spec() *v1.TaskSpec {
	return &v1.TaskSpec{
		Params: v1.ParamSpecs{{Name: "epochs", Type: v1.ParamTypeString}},
		Steps: []v1.Step{{
			Name: "train", Image: "mlpipe-step", Command: []string{"mlpipe-step"}, Args: []string{"train", "--epochs=$(params.epochs)"},
			Env: []corev1.EnvVar{{Name: "MLPIPE_ERROR_FILE", Value: "/e"}},
		}},
	}
}

// TestDigestIgnoresTheCacheItself: switching the cache on (its env, params, results) leaves the digest as it
// was; any other change to the spec changes it.
func TestDigestIgnoresTheCacheItself(t *testing.T) {
	base := Digest(spec())
	on := spec()
	on.Params = append(on.Params, v1.ParamSpec{Name: cache.ParamEnabled}, v1.ParamSpec{Name: cache.ParamSkip})
	on.Results = append(on.Results, v1.TaskResult{Name: cache.ResultCache}, v1.TaskResult{Name: cache.ResultKey})
	on.Steps[0].Env = append(on.Steps[0].Env, corev1.EnvVar{Name: cache.EnvTask, Value: base}, corev1.EnvVar{Name: cache.EnvStore, Value: "s3://b/c"})
	if got := Digest(on); got != base {
		t.Errorf("Digest with the cache on = %s, want %s", got, base)
	}
	if got := FromSpec(on); got != base {
		t.Errorf("FromSpec = %s, want the env's %s", got, base)
	}
	changed := spec()
	changed.Steps[0].Args[1] = "--epochs=3"
	if Digest(changed) == base {
		t.Error("a changed step did not change the digest")
	}
	env := spec()
	env.Steps[0].Env[0].Value = "/other"
	if Digest(env) == base {
		t.Error("a changed non-cache env var did not change the digest")
	}
}
