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

package spec

import (
	"path/filepath"
	"sort"

	"github.com/mlpipe/mlpipe/pkg/dataopts"
	"github.com/mlpipe/mlpipe/pkg/gate"
)

// Built-in defaults.
const (
	DefaultTestFraction = 0.2
	DefaultSeed         = 42
	DefaultMetric       = "accuracy"
	DefaultThreshold    = 0.8
	DefaultWorkspace    = "1Gi"
	// DefaultRegistryStore is spec.register.store when the spec names none: a folder of the project, beside
	// the spec (LocalDataPath makes it absolute for a local run), never a machine-wide one where a champion of
	// another project would gate this one.
	DefaultRegistryStore = ".mlpipe/registry"
)

// DefaultParams are the built-in hyperparameters of the train step; spec.params overrides them.
var DefaultParams = map[string]string{
	"epochs":        "100",
	"learning-rate": "0.5",
	"batch-size":    "32",
	"l2":            "0.0001",
}

// SetDefaults fills every optional field the generator relies on.
func (p *MLPipeline) SetDefaults() {
	s := &p.Spec
	if s.Data.TestFraction == nil {
		v := DefaultTestFraction
		s.Data.TestFraction = &v
	}
	if s.Data.Seed == nil {
		v := DefaultSeed
		s.Data.Seed = &v
	}
	if s.Data.Missing == "" {
		s.Data.Missing = dataopts.MissingDrop
	}
	if s.Steps.Evaluate == nil {
		s.Steps.Evaluate = &Step{}
	}
	ev := s.Steps.Evaluate
	if ev.Metric == "" {
		ev.Metric = DefaultMetric
	}
	if ev.Operator == "" {
		ev.Operator = ">="
		if gate.LowerIsBetter(ev.Metric) {
			ev.Operator = "<="
		}
	}
	if ev.Threshold == nil {
		v := DefaultThreshold
		ev.Threshold = &v
	}
	if ev.MinDelta == nil {
		v := 0.0
		ev.MinDelta = &v
	}
	if s.Register != nil && s.Register.ModelName == "" {
		s.Register.ModelName = p.Metadata.Name
	}
	if s.Register != nil && s.Register.Store == "" {
		s.Register.Store = DefaultRegistryStore
	}
	if s.Deploy != nil && s.Deploy.KServe != nil && s.Deploy.KServe.Namespace == "" {
		s.Deploy.KServe.Namespace = p.Metadata.Namespace
	}
	if s.Deploy != nil && s.Deploy.Kubernetes != nil {
		k := s.Deploy.Kubernetes
		if k.Namespace == "" {
			k.Namespace = p.Metadata.Namespace
		}
		if k.Replicas == nil {
			v := DefaultReplicas
			k.Replicas = &v
		}
	}
	if s.Cache == nil {
		s.Cache = &Cache{}
	}
	if s.Cache.Enabled == nil {
		v := true
		s.Cache.Enabled = &v
	}
	if s.Workspace == nil {
		s.Workspace = &Workspace{}
	}
	if s.Workspace.Size == "" {
		s.Workspace.Size = DefaultWorkspace
	}
	if t := s.Triggers; t != nil {
		if t.Schedule != nil {
			if t.Schedule.TimeZone == "" {
				t.Schedule.TimeZone = "UTC"
			}
			if t.Schedule.ConcurrencyPolicy == "" {
				t.Schedule.ConcurrencyPolicy = "Forbid"
			}
		}
		if t.S3 != nil {
			if len(t.S3.Events) == 0 {
				t.S3.Events = []string{"s3:ObjectCreated:*"}
			}
			if t.S3.ConcurrencyPolicy == "" {
				t.S3.ConcurrencyPolicy = "Allow"
			}
		}
	}
}

// Param returns the effective default of a pipeline param: spec.params, then the built-ins.
func (p *MLPipeline) Param(name string) string {
	if v, ok := p.Spec.Params[name]; ok {
		return v
	}
	return DefaultParams[name]
}

// StepByName returns the override for a step, or nil.
func (s *Steps) StepByName(name string) *Step {
	switch name {
	case "preprocess":
		return s.Preprocess
	case "train":
		return s.Train
	case "evaluate":
		return s.Evaluate
	case "register":
		return s.Register
	case "deploy":
		return s.Deploy
	case "alert":
		return s.Alert
	}
	return nil
}

// Custom reports whether the step replaces the built-in container (image, script,
// command, args, env or resources); timeout and retries alone keep the built-in Task.
func (st *Step) Custom() bool {
	return st != nil && (st.Image != "" || st.Script != "" || len(st.Command) > 0 || len(st.Args) > 0 || len(st.Env) > 0 || st.Resources != nil)
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// LocalDataPath makes the plain relative paths of a spec absolute, relative to the spec file's
// directory, as local runs read them: spec.data.uri and spec.register.store. URIs (file://, s3://) and
// absolute paths are left alone. Call it before generating for a local run only: the Pipeline then
// carries these absolute paths as the defaults of its data-uri and model-store params.
func (p *MLPipeline) LocalDataPath() {
	dir := p.Dir
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	if IsRelativePath(p.Spec.Data.URI) {
		p.Spec.Data.URI = filepath.Join(dir, p.Spec.Data.URI)
	}
	if r := p.Spec.Register; r != nil && IsRelativePath(r.Store) {
		r.Store = filepath.Join(dir, r.Store)
	}
}
