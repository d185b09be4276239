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
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlpipe/mlpipe/pkg/spec"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"gotest.tools/v3/golden"
)

var examples = []string{"churn", "pytorch-gpu"}

func loadExample(t testing.TB, name string) *spec.MLPipeline {
	t.Helper()
	p, err := spec.LoadFile(filepath.Join("..", "..", "examples", name, "mlpipe.yaml"))
	if err != nil {
		t.Fatalf("loading example %s: %v", name, err)
	}
	return p
}

// concat joins the generated files into one multi-document YAML for a golden file.
func concat(files []File) []byte {
	var buf bytes.Buffer
	for _, f := range files {
		fmt.Fprintf(&buf, "# ---- %s\n", f.Name)
		buf.Write(f.Data)
		if !bytes.HasSuffix(f.Data, []byte("\n")) {
			buf.WriteByte('\n')
		}
	}
	return buf.Bytes()
}

// goldenSpecs are specs under testdata/ rendered by TestGenerateGolden beside the examples.
var goldenSpecs = []string{"deploy-kubernetes", "cluster-cache"}

func loadTestdata(t testing.TB, name string) *spec.MLPipeline {
	t.Helper()
	p, err := spec.LoadFile(filepath.Join("testdata", name, "mlpipe.yaml"))
	if err != nil {
		t.Fatalf("loading testdata spec %s: %v", name, err)
	}
	return p
}

func TestGenerateGolden(t *testing.T) {
	type source struct {
		name string
		load func(testing.TB, string) *spec.MLPipeline
	}
	var sources []source
	for _, ex := range examples {
		sources = append(sources, source{ex, loadExample})
	}
	for _, name := range goldenSpecs {
		sources = append(sources, source{name, loadTestdata})
	}
	for _, src := range sources {
		for _, when := range []string{WhenResult, WhenCEL} {
			t.Run(src.name+"-"+when, func(t *testing.T) {
				out, err := Generate(context.Background(), src.load(t, src.name), Options{When: when})
				if err != nil {
					t.Fatalf("Generate: %v", err)
				}
				golden.Assert(t, string(concat(out.Files)), strings.ReplaceAll(t.Name(), "/", "-")+".golden")
			})
		}
	}
}

func TestGenerateDeterministic(t *testing.T) {
	p := loadExample(t, "pytorch-gpu")
	a, err := Generate(context.Background(), p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		b, err := Generate(context.Background(), p, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(concat(a.Files), concat(b.Files)) {
			t.Fatal("two renders of the same spec differ")
		}
	}
}

func pipelineTask(p *v1.Pipeline, name string) *v1.PipelineTask {
	for _, list := range [][]v1.PipelineTask{p.Spec.Tasks, p.Spec.Finally} {
		for i := range list {
			if list[i].Name == name {
				return &list[i]
			}
		}
	}
	return nil
}

func TestGeneratePipelineShape(t *testing.T) {
	out, err := Generate(context.Background(), loadExample(t, "churn"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, pt := range out.Pipeline.Spec.Tasks {
		names = append(names, pt.Name)
	}
	if got, want := strings.Join(names, ","), "preprocess,train,evaluate,register,deploy"; got != want {
		t.Errorf("tasks = %s, want %s", got, want)
	}
	for _, gated := range []string{"register", "deploy"} {
		pt := pipelineTask(out.Pipeline, gated)
		if len(pt.When) != 1 || pt.When[0].Input != "$(tasks.evaluate.results.passed)" || pt.When[0].Values[0] != "true" {
			t.Errorf("%s when = %+v, want the passed gate", gated, pt.When)
		}
	}
	alert := out.Pipeline.Spec.Finally
	if len(alert) != 1 || alert[0].Name != "alert" || alert[0].When[0].Input != "$(tasks.status)" {
		t.Errorf("finally = %+v, want alert on $(tasks.status)", alert)
	}
	for _, task := range out.Tasks {
		for _, s := range task.Spec.Steps {
			sc := s.SecurityContext
			if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
				sc.SeccompProfile == nil || sc.SeccompProfile.Type != "RuntimeDefault" || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" {
				t.Errorf("Task %s step %s: securityContext %+v breaks the restricted profile", task.Name, s.Name, sc)
			}
			if strings.Contains(s.Script, "$(params.") {
				t.Errorf("Task %s step %s splices a param into its script", task.Name, s.Name)
			}
		}
		for _, p := range task.Spec.Params {
			if p.Description == "" {
				t.Errorf("Task %s param %s has no description", task.Name, p.Name)
			}
		}
		for _, r := range task.Spec.Results {
			if r.Description == "" {
				t.Errorf("Task %s result %s has no description", task.Name, r.Name)
			}
		}
		for _, k := range []string{"tekton.dev/pipelines.minVersion", "tekton.dev/categories", "tekton.dev/tags", "tekton.dev/displayName", "tekton.dev/platforms"} {
			if task.Annotations[k] == "" {
				t.Errorf("Task %s lacks annotation %s", task.Name, k)
			}
		}
	}
}

func TestGenerateCELNeedsFlag(t *testing.T) {
	out, err := Generate(context.Background(), loadExample(t, "churn"), Options{When: WhenCEL})
	if err != nil {
		t.Fatal(err)
	}
	if err := Check(context.Background(), out, false); err == nil || !strings.Contains(err.Error(), "enable-cel-in-whenexpression") {
		t.Errorf("Check without the CEL flag = %v, want an error naming enable-cel-in-whenexpression", err)
	}
}

func TestCheckCatchesMissingResult(t *testing.T) {
	out, err := Generate(context.Background(), loadExample(t, "churn"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	pt := pipelineTask(out.Pipeline, "register")
	pt.When[0].Input = "$(tasks.evaluate.results.passd)"
	err = Check(context.Background(), out, false)
	if err == nil || !strings.Contains(err.Error(), `"passd" is not a named result returned by pipeline task "evaluate"`) {
		t.Errorf("Check = %v, want the result reference error", err)
	}
}

func TestTemplateOverride(t *testing.T) {
	dir := t.TempDir()
	broken := "apiVersion: tekton.dev/v1\nkind: Task\nmetadata:\n  name: {{ .TaskName }}\nspec:\n  stepz: []\n"
	if err := os.WriteFile(filepath.Join(dir, "task-train.yaml.tmpl"), []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Generate(context.Background(), loadExample(t, "churn"), Options{TemplatesDir: dir})
	if err == nil || !strings.Contains(err.Error(), `unknown field "stepz"`) {
		t.Errorf("Generate with a broken template = %v, want a strict decode error", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "task-train.yaml.tmpl"), []byte("{{ .Nope }}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Generate(context.Background(), loadExample(t, "churn"), Options{TemplatesDir: dir}); err == nil || !strings.Contains(err.Error(), "Nope") {
		t.Errorf("Generate with a template naming a missing field = %v, want an error", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "typo.yaml.tmpl"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := NewRenderer(dir); err == nil || !strings.Contains(err.Error(), "no embedded template of that name") {
		t.Errorf("NewRenderer with an unknown template = %v", err)
	}
}

func TestWriteDirLeavesOutputOnError(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pipeline.yaml"), []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	// a file whose parent is a regular file cannot be written: nothing may change
	if err := os.WriteFile(filepath.Join(dir, "tasks"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := WriteDir(dir, []File{{Name: "pipeline.yaml", Data: []byte("new")}, {Name: "tasks/a.yaml", Data: []byte("a")}})
	if err == nil {
		t.Fatal("WriteDir succeeded, want an error")
	}
	got, _ := os.ReadFile(filepath.Join(dir, "pipeline.yaml"))
	if string(got) != "old" {
		t.Errorf("pipeline.yaml = %q after a failed write, want it unchanged", got)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("output dir has %d entries after a failed write, want the 2 it had", len(entries))
	}
}

func BenchmarkGenerate(b *testing.B) {
	for _, ex := range examples {
		file := filepath.Join("..", "..", "examples", ex, "mlpipe.yaml")
		data, err := os.ReadFile(file)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(ex, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p, err := spec.Load(file, data)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := Generate(context.Background(), p, Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
		// The share of Tekton's own SetDefaults/Validate/result checks in the above.
		b.Run(ex+"/tekton-checks-only", func(b *testing.B) {
			p, err := spec.Load(file, data)
			if err != nil {
				b.Fatal(err)
			}
			out, err := Generate(context.Background(), p, Options{})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := Check(context.Background(), out, false); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
