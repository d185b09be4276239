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

// Package generate renders an MLPipeline spec into Tekton Tasks, a gated Pipeline,
// a sample PipelineRun and a kustomization, and checks every object with Tekton's
// own defaulting and validation before anything is written.
package generate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/template"

	"github.com/mlpipe/mlpipe/pkg/apis/mlpipe/v1alpha1"
	"github.com/mlpipe/mlpipe/pkg/cache"
	"github.com/mlpipe/mlpipe/pkg/cache/taskdigest"
	"github.com/mlpipe/mlpipe/pkg/spec"
	"github.com/mlpipe/mlpipe/templates"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
)

// When modes for the gate.
const (
	// WhenResult gates on $(tasks.evaluate.results.passed): works on any Tekton.
	WhenResult = "result"
	// WhenCEL gates with a CEL expression on the metric value (needs enable-cel-in-whenexpression).
	WhenCEL = "cel"
)

// Options change how a spec is rendered.
type Options struct {
	// TemplatesDir overrides embedded templates with files of the same name.
	TemplatesDir string
	// When is WhenResult (default) or WhenCEL.
	When string
	// StepImage is the image of the built-in steps (default DefaultStepImage).
	StepImage string
}

// File is one rendered file, relative to the output directory.
type File struct {
	Name string
	Data []byte
}

// Output is everything one spec renders to; every object passed Tekton's checks.
type Output struct {
	Tasks       []*v1.Task
	Pipeline    *v1.Pipeline
	PipelineRun *v1.PipelineRun
	// Schedule is the PipelineSchedule of spec.triggers.schedule, nil without one.
	Schedule *v1alpha1.PipelineSchedule
	// ServiceAccount is what the runs run as (RunnerServiceAccount), and Role and RoleBinding let its deploy
	// step manage the InferenceService, in the InferenceService's namespace (RBACFile); nil without spec.deploy.
	ServiceAccount *corev1.ServiceAccount
	Role           *rbacv1.Role
	RoleBinding    *rbacv1.RoleBinding
	Files          []File
	// Warnings are the spec's problems that do not stop generation but break the pipeline in a cluster
	// (spec.MLPipeline.Warnings), in file order; print each with Warning().
	Warnings spec.ErrorList
}

// Renderer holds parsed templates; it is safe for concurrent use.
type Renderer struct {
	tmpl *template.Template
}

func funcs() template.FuncMap {
	return template.FuncMap{
		"quote": quote,
		"indent": func(n int, s string) string {
			pad := strings.Repeat(" ", n)
			lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
			for i, l := range lines {
				if l != "" {
					lines[i] = pad + l
				}
			}
			return strings.Join(lines, "\n")
		},
		"envName":       envName,
		"cacheParamEnv": cache.ParamEnv,
		"join":          strings.Join,
	}
}

// quote renders s as a JSON string, which is a valid YAML double-quoted scalar.
func quote(s string) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // encoding a string cannot fail
	return strings.TrimSuffix(buf.String(), "\n")
}

var embedded = mustRenderer("")

func mustRenderer(dir string) *Renderer {
	r, err := NewRenderer(dir)
	if err != nil {
		panic(err)
	}
	return r
}

// NewRenderer parses the embedded templates, then the *.yaml.tmpl files of dir
// (if dir is not empty), which replace embedded templates of the same name.
func NewRenderer(dir string) (*Renderer, error) {
	t, err := template.New("mlpipe").Option("missingkey=error").Funcs(funcs()).ParseFS(templates.FS, "*.yaml.tmpl", "*.md.tmpl")
	if err != nil {
		return nil, fmt.Errorf("error parsing embedded templates: %w", err)
	}
	if dir != "" {
		matches, err := fs.Glob(os.DirFS(dir), "*.yaml.tmpl")
		if err != nil {
			return nil, fmt.Errorf("error listing templates in %s: %w", dir, err)
		}
		if len(matches) == 0 {
			return nil, fmt.Errorf("no *.yaml.tmpl files in templates directory %s", dir)
		}
		for _, m := range matches {
			if t.Lookup(m) == nil {
				return nil, fmt.Errorf("template %s: no embedded template of that name to override (known: %s)", filepath.Join(dir, m), templateNames(t))
			}
			data, err := os.ReadFile(filepath.Join(dir, m))
			if err != nil {
				return nil, fmt.Errorf("error reading template: %w", err)
			}
			if _, err := t.New(m).Parse(string(data)); err != nil {
				return nil, fmt.Errorf("error parsing template %s: %w", filepath.Join(dir, m), err)
			}
		}
	}
	return &Renderer{tmpl: t}, nil
}

func templateNames(t *template.Template) string {
	var names []string
	for _, x := range t.Templates() {
		if strings.HasSuffix(x.Name(), ".yaml.tmpl") {
			names = append(names, x.Name())
		}
	}
	return strings.Join(sortStrings(names), ", ")
}

func (r *Renderer) render(name string, data any) ([]byte, error) {
	var buf bytes.Buffer
	if err := r.tmpl.ExecuteTemplate(&buf, name, data); err != nil {
		return nil, fmt.Errorf("error rendering %s: %w", name, err)
	}
	return buf.Bytes(), nil
}

// Generate renders p with the embedded templates (or opts.TemplatesDir) and validates the result.
func Generate(ctx context.Context, p *spec.MLPipeline, opts Options) (*Output, error) {
	r := embedded
	if opts.TemplatesDir != "" {
		var err error
		if r, err = NewRenderer(opts.TemplatesDir); err != nil {
			return nil, err
		}
	}
	return r.Generate(ctx, p, opts)
}

// Generate renders p and validates every object with Tekton's own code.
func (r *Renderer) Generate(ctx context.Context, p *spec.MLPipeline, opts Options) (*Output, error) {
	if opts.When == "" {
		opts.When = WhenResult
	}
	if opts.When != WhenResult && opts.When != WhenCEL {
		return nil, fmt.Errorf("unknown --when %q: use %q or %q", opts.When, WhenResult, WhenCEL)
	}
	if opts.StepImage == "" {
		opts.StepImage = DefaultStepImage
	}
	plan := newPlan(p, opts)
	out := &Output{Warnings: append(spec.ErrorList(nil), p.Warnings...)}
	var resources []string
	for _, td := range plan.tasks {
		data, err := r.render("task-"+td.Step+".yaml.tmpl", td)
		if err != nil {
			return nil, err
		}
		task, err := decodeTask(td.TaskName, data)
		if err != nil {
			return nil, err
		}
		if td.Cache != nil {
			// The digest leaves the cache's own env out, so the second rendering has the digest of the first.
			td.Cache.Task = taskdigest.Digest(&task.Spec)
			if data, err = r.render("task-"+td.Step+".yaml.tmpl", td); err != nil {
				return nil, err
			}
			if task, err = decodeTask(td.TaskName, data); err != nil {
				return nil, err
			}
		}
		name := "tasks/" + td.TaskName + ".yaml"
		out.Tasks = append(out.Tasks, task)
		out.Files = append(out.Files, File{Name: name, Data: data})
		resources = append(resources, name)
	}
	pd := plan.pipeline
	data, err := r.render("pipeline.yaml.tmpl", pd)
	if err != nil {
		return nil, err
	}
	if out.Pipeline, err = decodePipeline(data); err != nil {
		return nil, err
	}
	out.Files = append(out.Files, File{Name: "pipeline.yaml", Data: data})
	resources = append(resources, "pipeline.yaml")

	if data, err = r.render("pipelinerun.yaml.tmpl", pd); err != nil {
		return nil, err
	}
	if out.PipelineRun, err = decodePipelineRun(data); err != nil {
		return nil, err
	}
	out.Files = append(out.Files, File{Name: "pipelinerun.yaml", Data: data})
	if data, err = r.render("workspace-template.yaml.tmpl", pd); err != nil {
		return nil, err
	}
	out.Files = append(out.Files, File{Name: "workspace-template.yaml", Data: data})

	rf, objs, err := r.rbacFile(p)
	if err != nil {
		return nil, err
	}
	if rf != nil {
		out.ServiceAccount, out.Role, out.RoleBinding = objs.ServiceAccount, objs.Role, objs.RoleBinding
		out.Files = append(out.Files, *rf)
		resources = append(resources, rf.Name)
	}

	if pd.Schedule != nil {
		if data, err = r.render("schedule.yaml.tmpl", pd); err != nil {
			return nil, err
		}
		if out.Schedule, err = decodeSchedule(ctx, data); err != nil {
			return nil, err
		}
		out.Files = append(out.Files, File{Name: "schedule.yaml", Data: data})
		resources = append(resources, "schedule.yaml")
	}
	triggers, err := r.triggerFiles(ctx, p, opts)
	if err != nil {
		return nil, err
	}
	for _, f := range triggers {
		out.Files = append(out.Files, f)
		resources = append(resources, f.Name)
	}

	pd.Resources = resources
	if data, err = r.render("kustomization.yaml.tmpl", pd); err != nil {
		return nil, err
	}
	out.Files = append(out.Files, File{Name: "kustomization.yaml", Data: data})

	if err := Check(ctx, out, opts.When == WhenCEL); err != nil {
		return nil, err
	}
	if err := checkRunsUseRunner(out); err != nil {
		return nil, err
	}
	return out, nil
}
