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
	"errors"
	"fmt"
	"sync"

	"github.com/mlpipe/mlpipe/pkg/apis/mlpipe/v1alpha1"
	"github.com/tektoncd/pipeline/pkg/apis/config"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/reconciler/pipelinerun/resources"
	taskresources "github.com/tektoncd/pipeline/pkg/reconciler/taskrun/resources"
	"sigs.k8s.io/yaml"
)

// strict decodes a rendered document into obj, rejecting unknown fields, and names
// the file in the error.
func strict(file string, data []byte, obj any) error {
	if err := yaml.UnmarshalStrict(data, obj); err != nil {
		return fmt.Errorf("%s: the rendered template does not decode into Tekton's types: %w", file, err)
	}
	return nil
}

func decodeTask(name string, data []byte) (*v1.Task, error) {
	t := &v1.Task{}
	if err := strict("tasks/"+name+".yaml", data, t); err != nil {
		return nil, err
	}
	return t, nil
}

func decodePipeline(data []byte) (*v1.Pipeline, error) {
	p := &v1.Pipeline{}
	if err := strict("pipeline.yaml", data, p); err != nil {
		return nil, err
	}
	return p, nil
}

func decodeSchedule(ctx context.Context, data []byte) (*v1alpha1.PipelineSchedule, error) {
	s := &v1alpha1.PipelineSchedule{}
	if err := strict("schedule.yaml", data, s); err != nil {
		return nil, err
	}
	c := s.DeepCopy()
	c.SetDefaults(ctx)
	if err := c.Validate(ctx); err != nil {
		return nil, fmt.Errorf("schedule.yaml: PipelineSchedule %s: %w", s.Name, err)
	}
	return s, nil
}

func decodePipelineRun(data []byte) (*v1.PipelineRun, error) {
	pr := &v1.PipelineRun{}
	if err := strict("pipelinerun.yaml", data, pr); err != nil {
		return nil, err
	}
	return pr, nil
}

// ValidationContext returns a context whose Tekton feature flags are the defaults,
// with CEL in when expressions enabled when cel is true.
func ValidationContext(ctx context.Context, cel bool) context.Context {
	cfg := config.FromContextOrDefaults(ctx)
	if cel {
		ff := *cfg.FeatureFlags
		ff.EnableCELInWhenExpression = true
		cfg.FeatureFlags = &ff
	}
	return config.ToContext(ctx, cfg)
}

// Check runs Tekton's SetDefaults and Validate on every object of out, then the
// reconciler's own checks a Validate misses: result references that name a result the
// task does not declare, pipeline results, optional workspaces and param types.
// Defaults are applied to copies: the objects in out stay as rendered.
func Check(ctx context.Context, out *Output, cel bool) error {
	ctx = ValidationContext(ctx, cel)
	// Tekton's Validate compiles its substitution regexps on every call and
	// dominates the cost of generate; the objects are independent, so each
	// is checked on its own goroutine. Errors keep the objects' order.
	tasks := make([]*v1.Task, len(out.Tasks))
	taskErrs := make([]error, len(out.Tasks))
	var wg sync.WaitGroup
	for i, t := range out.Tasks {
		wg.Go(func() {
			t := t.DeepCopy()
			t.SetDefaults(ctx)
			if err := t.Validate(ctx); err != nil {
				taskErrs[i] = fmt.Errorf("Task %s: %w", t.Name, err)
			}
			tasks[i] = t
		})
	}
	p := out.Pipeline.DeepCopy()
	p.SetDefaults(ctx)
	pipelineErr := p.Validate(ctx)
	wg.Wait()
	errs := taskErrs
	specs := map[string]*v1.TaskSpec{}
	for _, t := range tasks {
		specs[t.Name] = &t.Spec
	}
	if pipelineErr != nil {
		errs = append(errs, fmt.Errorf("Pipeline %s: %w", p.Name, pipelineErr))
	}
	state := resources.PipelineRunState{}
	for _, list := range [][]v1.PipelineTask{p.Spec.Tasks, p.Spec.Finally} {
		for i := range list {
			pt := &list[i]
			ts, ok := specs[pt.TaskRef.Name]
			if !ok {
				errs = append(errs, fmt.Errorf("Pipeline %s: task %q references Task %q, which was not generated", p.Name, pt.Name, pt.TaskRef.Name))
				continue
			}
			state = append(state, &resources.ResolvedPipelineTask{
				PipelineTask: pt,
				ResolvedTask: &taskresources.ResolvedTask{TaskName: pt.TaskRef.Name, TaskSpec: ts},
			})
		}
	}
	if err := resources.ValidatePipelineTaskResults(state); err != nil {
		errs = append(errs, fmt.Errorf("Pipeline %s: %w", p.Name, err))
	}
	if err := resources.ValidatePipelineResults(&p.Spec, state); err != nil {
		errs = append(errs, fmt.Errorf("Pipeline %s: %w", p.Name, err))
	}
	if err := resources.ValidateOptionalWorkspaces(p.Spec.Workspaces, state); err != nil {
		errs = append(errs, fmt.Errorf("Pipeline %s: %w", p.Name, err))
	}
	if out.PipelineRun != nil {
		pr := out.PipelineRun.DeepCopy()
		pr.SetDefaults(ctx)
		if pr.Name == "" && pr.GenerateName != "" {
			pr.Name = pr.GenerateName + "check" // Validate needs a name; the API server would generate it
		}
		if err := pr.Validate(ctx); err != nil {
			errs = append(errs, fmt.Errorf("PipelineRun %s: %w", pr.GenerateName, err))
		}
		if err := resources.ValidateParamTypesMatching(&p.Spec, pr); err != nil {
			errs = append(errs, fmt.Errorf("PipelineRun %s: %w", pr.GenerateName, err))
		}
		if err := resources.ValidateWorkspaceBindings(&p.Spec, pr); err != nil {
			errs = append(errs, fmt.Errorf("PipelineRun %s: %w", pr.GenerateName, err))
		}
		if err := resources.ValidateRequiredParametersProvided(&p.Spec.Params, &pr.Spec.Params); err != nil {
			errs = append(errs, fmt.Errorf("PipelineRun %s: %w", pr.GenerateName, err))
		}
	}
	return errors.Join(errs...)
}
