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
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mlpipe/mlpipe/pkg/spec"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
)

// paramDefault returns the default of a Pipeline param and whether it has one.
func paramDefault(t *testing.T, p *v1.Pipeline, name string) (string, bool) {
	t.Helper()
	for _, ps := range p.Spec.Params {
		if ps.Name == name {
			if ps.Default == nil {
				return "", false
			}
			return ps.Default.StringVal, true
		}
	}
	t.Fatalf("Pipeline %s has no param %s", p.Name, name)
	return "", false
}

// sampleParams returns the params the sample PipelineRun passes.
func sampleParams(pr *v1.PipelineRun) map[string]string {
	out := map[string]string{}
	for _, p := range pr.Spec.Params {
		out[p.Name] = p.Value.StringVal
	}
	return out
}

func TestLocationParams(t *testing.T) {
	tests := []struct {
		name        string
		data, store string
		local       bool // LocalDataPath first, as mlpipe run does
		// want* are the defaults of data-uri and model-store ("" and false: none).
		wantData, wantStore       string
		wantHasData, wantHasStore bool
		wantSample                map[string]string
	}{{
		name: "s3 data and store are the defaults",
		data: "s3://datasets/churn/train.csv", store: "s3://models/churn",
		wantData: "s3://datasets/churn/train.csv", wantHasData: true, wantStore: "s3://models/churn", wantHasStore: true,
		wantSample: map[string]string{},
	}, {
		name: "relative paths: no defaults, the sample run passes placeholders",
		data: "../data/churn.csv", store: ".mlpipe/registry",
		wantSample: map[string]string{"data-uri": "s3://<bucket>/<key>", "model-store": "s3://<bucket>/<prefix>"},
	}, {
		name: "file:// and absolute paths stay the defaults (with a warning)",
		data: "/data/churn.csv", store: "file:///tmp/mlpipe-registry",
		wantData: "/data/churn.csv", wantHasData: true, wantStore: "file:///tmp/mlpipe-registry", wantHasStore: true,
		wantSample: map[string]string{},
	}, {
		name: "a local run gets absolute local paths as defaults",
		data: "../data/churn.csv", store: ".mlpipe/registry", local: true,
		wantData: abs(t, filepath.Join("..", "data", "churn.csv")), wantHasData: true,
		wantStore: abs(t, filepath.Join(".mlpipe", "registry")), wantHasStore: true,
		wantSample: map[string]string{},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := "apiVersion: mlpipe.dev/v1alpha1\nkind: MLPipeline\nmetadata: {name: churn}\nspec:\n" +
				"  data: {uri: \"" + tt.data + "\", label: churned}\n  register: {store: \"" + tt.store + "\"}\n"
			p, err := spec.Load("mlpipe.yaml", []byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			if tt.local {
				p.LocalDataPath()
			}
			out, err := Generate(context.Background(), p, Options{})
			if err != nil {
				t.Fatalf("Generate: %v", err)
			}
			if got, has := paramDefault(t, out.Pipeline, "data-uri"); got != tt.wantData || has != tt.wantHasData {
				t.Errorf("data-uri default = %q (%v), want %q (%v)", got, has, tt.wantData, tt.wantHasData)
			}
			if got, has := paramDefault(t, out.Pipeline, "model-store"); got != tt.wantStore || has != tt.wantHasStore {
				t.Errorf("model-store default = %q (%v), want %q (%v)", got, has, tt.wantStore, tt.wantHasStore)
			}
			if diff := cmp.Diff(tt.wantSample, sampleParams(out.PipelineRun)); diff != "" {
				t.Errorf("sample PipelineRun params (-want +got):\n%s", diff)
			}
			for _, name := range []string{"register", "evaluate"} {
				for _, pv := range pipelineTask(out.Pipeline, name).Params {
					if (pv.Name == "store" || pv.Name == "registry") && pv.Value.StringVal != "$(params.model-store)" {
						t.Errorf("%s param %s = %q, want $(params.model-store)", name, pv.Name, pv.Value.StringVal)
					}
				}
			}
		})
	}
}

func abs(t *testing.T, path string) string {
	t.Helper()
	a, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestNoRelativeDefaults: no location param of a bundled example's Pipeline defaults to a path relative to the spec.
func TestNoRelativeDefaults(t *testing.T) {
	for _, ex := range examples {
		t.Run(ex, func(t *testing.T) {
			out, err := Generate(context.Background(), loadExample(t, ex), Options{})
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{"data-uri", "model-store"} {
				if d, ok := paramDefault(t, out.Pipeline, name); ok && spec.IsRelativePath(d) {
					t.Errorf("param %s defaults to the relative path %q", name, d)
				}
			}
		})
	}
}

// TestGenerateWarnings: Output.Warnings carries the spec's cluster warnings, with their positions.
func TestGenerateWarnings(t *testing.T) {
	churn := filepath.Join("..", "..", "examples", "churn", "mlpipe.yaml")
	tests := []struct {
		name    string
		example string
		want    []string
	}{{
		name:    "churn runs locally: local data and registry",
		example: "churn",
		want: []string{
			churn + `:11:5: warning: spec.data.uri: "../data/churn.csv" is a path on this machine (relative to the spec): ` +
				`in a cluster no Pod can read it, so the generated Pipeline's data-uri param has no default; start runs with ` +
				`tkn pipeline start -p data-uri=s3://bucket/key, or use an s3:// URI here`,
			churn + `:22:5: warning: spec.register.store: ".mlpipe/registry" is a directory on this machine (relative to the spec): ` +
				`in a cluster no Pod can reach it, so the generated Pipeline's model-store param has no default; start runs with ` +
				`tkn pipeline start -p model-store=s3://bucket/prefix, or use an s3:// store here`,
		},
	}, {
		name:    "pytorch-gpu is made for a cluster",
		example: "pytorch-gpu",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Generate(context.Background(), loadExample(t, tt.example), Options{})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, w := range out.Warnings {
				got = append(got, w.Warning())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
		})
	}
}
