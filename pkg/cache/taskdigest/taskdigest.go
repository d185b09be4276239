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

// Package taskdigest computes the "task" component of a cache key from a Tekton Task spec. It is apart from
// pkg/cache so that the step binary, which reads the digest from its environment, does not import Tekton.
package taskdigest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/mlpipe/mlpipe/pkg/cache"
)

// Digest returns "sha256:<hex>" of the JSON of spec as written (before param substitution), without the
// cache's own env vars (cache.IsOwnEnv), params (cache.IsOwnParam) and results (cache.ResultCache,
// cache.ResultKey), so that switching the cache on, or the digest itself, does not change it.
func Digest(spec *v1.TaskSpec) string {
	s := spec.DeepCopy()
	s.Params = slices.DeleteFunc(s.Params, func(p v1.ParamSpec) bool { return cache.IsOwnParam(p.Name) })
	s.Results = slices.DeleteFunc(s.Results, func(r v1.TaskResult) bool {
		return r.Name == cache.ResultCache || r.Name == cache.ResultKey
	})
	for i := range s.Steps {
		s.Steps[i].Env = withoutOwnEnv(s.Steps[i].Env)
	}
	if s.StepTemplate != nil {
		s.StepTemplate.Env = withoutOwnEnv(s.StepTemplate.Env)
	}
	b, _ := json.Marshal(s)
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func withoutOwnEnv(env []corev1.EnvVar) []corev1.EnvVar {
	env = slices.DeleteFunc(env, func(e corev1.EnvVar) bool { return cache.IsOwnEnv(e.Name) })
	if len(env) == 0 {
		return nil
	}
	return env
}

// FromSpec returns the digest the generator put into the spec's first step that carries cache.EnvTask, else
// Digest(spec).
func FromSpec(spec *v1.TaskSpec) string {
	for _, st := range spec.Steps {
		for _, e := range st.Env {
			if e.Name == cache.EnvTask && e.Value != "" {
				return e.Value
			}
		}
	}
	return Digest(spec)
}
