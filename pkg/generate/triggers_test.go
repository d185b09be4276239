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
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlpipe/mlpipe/pkg/spec"
	"gotest.tools/v3/golden"
)

const marker = `apiVersion: mlpipe.dev/v1alpha1
kind: MLPipeline
metadata: {name: churn, namespace: ml}
spec:
  data: {uri: s3://datasets/churn/train.csv, label: churned}
  workspace: {size: 5Gi, storageClassName: fast}
  triggers:
    s3: {bucket: datasets, prefix: churn/, suffix: .csv, marker: _SUCCESS, concurrencyPolicy: Forbid, events: ["s3:ObjectCreated:Put", "s3:ObjectCreated:CompleteMultipartUpload"]}
`

func TestTriggerFilesGolden(t *testing.T) {
	tests := []struct {
		name string
		p    func(t *testing.T) *spec.MLPipeline
	}{
		{"pytorch-gpu", func(t *testing.T) *spec.MLPipeline { return loadExample(t, "pytorch-gpu") }},
		{"marker-forbid", func(t *testing.T) *spec.MLPipeline {
			p, err := spec.Load("mlpipe.yaml", []byte(marker))
			if err != nil {
				t.Fatal(err)
			}
			return p
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files, err := embedded.triggerFiles(context.Background(), tt.p(t), Options{})
			if err != nil {
				t.Fatalf("triggerFiles: %v", err)
			}
			if len(files) != 5 {
				t.Errorf("%d files, want 5 (rbac, binding, template, trigger, eventlistener)", len(files))
			}
			golden.Assert(t, string(concat(files)), strings.ReplaceAll(t.Name(), "/", "-")+".golden")
		})
	}
}

func TestTriggerFilesNone(t *testing.T) {
	files, err := embedded.triggerFiles(context.Background(), loadExample(t, "churn"), Options{})
	if err != nil || files != nil {
		t.Errorf("triggerFiles without triggers.s3 = %v, %v; want nil, nil", files, err)
	}
}

// TestTriggerFilesRejected shows that Triggers' and Tekton's validation run on what the templates render.
func TestTriggerFilesRejected(t *testing.T) {
	tests := []struct {
		name, tmpl, body, want string
	}{{
		name: "template param not declared",
		tmpl: "triggers-template.yaml.tmpl",
		body: "apiVersion: triggers.tekton.dev/v1beta1\nkind: TriggerTemplate\nmetadata: {name: x}\nspec:\n  resourcetemplates:\n    - {apiVersion: tekton.dev/v1, kind: PipelineRun, metadata: {name: $(tt.params.nope)}, spec: {pipelineRef: {name: p}}}\n",
		want: "undeclared param",
	}, {
		name: "generateName",
		tmpl: "triggers-template.yaml.tmpl",
		body: "apiVersion: triggers.tekton.dev/v1beta1\nkind: TriggerTemplate\nmetadata: {name: churn-s3}\nspec:\n  resourcetemplates:\n    - {apiVersion: tekton.dev/v1, kind: PipelineRun, metadata: {generateName: x-}, spec: {pipelineRef: {name: p}}}\n",
		want: "not generateName",
	}, {
		name: "unknown field",
		tmpl: "triggers-binding.yaml.tmpl",
		body: "apiVersion: triggers.tekton.dev/v1beta1\nkind: TriggerBinding\nmetadata: {name: churn-s3}\nspec:\n  parms: []\n",
		want: "unknown field",
	}, {
		name: "wildcard RBAC",
		tmpl: "triggers-rbac.yaml.tmpl",
		body: "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: x}\nrules:\n  - {apiGroups: [\"*\"], resources: [\"*\"], verbs: [\"*\"]}\n",
		want: "wildcard",
	}, {
		name: "bad binding",
		tmpl: "triggers-binding.yaml.tmpl",
		body: "apiVersion: triggers.tekton.dev/v1beta1\nkind: TriggerBinding\nmetadata: {name: churn-s3}\nspec:\n  params:\n    - {name: uri, value: \"$(extensions.mlpipe.uri\"}\n",
		want: "TriggerBinding",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, tt.tmpl, tt.body)
			r, err := NewRenderer(dir)
			if err != nil {
				t.Fatal(err)
			}
			_, err = r.triggerFiles(context.Background(), loadExample(t, "pytorch-gpu"), Options{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("triggerFiles() error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func writeFile(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}
