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
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// withData replaces base's s3 data URI.
func withData(uri string) string {
	return strings.Replace(base, "s3://datasets/churn/train.csv", uri, 1)
}

func warnings(p *MLPipeline) []string {
	var out []string
	for _, w := range p.Warnings {
		out = append(out, w.Warning())
	}
	return out
}

func TestLoadWarnings(t *testing.T) {
	const (
		relData = `f.yaml:7:5: warning: spec.data.uri: "../data/churn.csv" is a path on this machine (relative to the spec): ` +
			`in a cluster no Pod can read it, so the generated Pipeline's data-uri param has no default; start runs with ` +
			`tkn pipeline start -p data-uri=s3://bucket/key, or use an s3:// URI here`
		relStore = `f.yaml:9:14: warning: spec.register.store: ".mlpipe/registry" is a directory on this machine (relative to the spec): ` +
			`in a cluster no Pod can reach it, so the generated Pipeline's model-store param has no default; start runs with ` +
			`tkn pipeline start -p model-store=s3://bucket/prefix, or use an s3:// store here`
		fileStore = `f.yaml:9:14: warning: spec.register.store: "file:///tmp/mlpipe-registry" is a directory on this machine: ` +
			`in a cluster it is inside the register Pod and vanishes with it, evaluate's champion lookup (another Pod) never ` +
			`sees it and the InferenceService points at a path no predictor can read; use an s3:// store here, or start runs ` +
			`with tkn pipeline start -p model-store=s3://bucket/prefix`
	)
	fileData := func(uri string) string {
		return `f.yaml:7:5: warning: spec.data.uri: "` + uri + `" is a file on this machine: in a cluster the data-uri default ` +
			`names a path inside the preprocess Pod, which does not have it; use an s3:// URI here, or start runs with ` +
			`tkn pipeline start -p data-uri=s3://bucket/key`
	}
	tests := []struct {
		name string
		yaml string
		want []string
	}{{
		name: "s3 data and store: nothing to say",
		yaml: base + "  register: {store: s3://models/churn}\n  deploy: {kserve: {name: churn}}\n",
	}, {
		name: "relative data path",
		yaml: withData("../data/churn.csv"),
		want: []string{relData},
	}, {
		name: "relative data path with a schedule",
		yaml: withData("../data/churn.csv") + "  triggers:\n    schedule: {cron: '@daily'}\n",
		want: []string{relData + "; the PipelineSchedule passes no data-uri, so its runs fail"},
	}, {
		name: "file:// data",
		yaml: withData("file:///data/churn.csv"),
		want: []string{fileData("file:///data/churn.csv")},
	}, {
		name: "absolute data path",
		yaml: withData("/data/churn.csv"),
		want: []string{fileData("/data/churn.csv")},
	}, {
		name: "relative store",
		yaml: base + "  register:\n    store: .mlpipe/registry\n",
		want: []string{`f.yaml:10:5: warning: spec.register.store: ".mlpipe/registry" is a directory on this machine (relative to the spec): ` +
			`in a cluster no Pod can reach it, so the generated Pipeline's model-store param has no default; start runs with ` +
			`tkn pipeline start -p model-store=s3://bucket/prefix, or use an s3:// store here`},
	}, {
		name: "relative store with an S3 trigger",
		yaml: base + "  register: {store: .mlpipe/registry}\n  triggers:\n    s3: {bucket: datasets}\n",
		want: []string{relStore + "; runs started by spec.triggers pass no model-store, so they fail"},
	}, {
		name: "file:// store",
		yaml: base + "  register: {store: \"file:///tmp/mlpipe-registry\"}\n",
		want: []string{fileStore},
	}, {
		name: "local data and store, in file order",
		yaml: withData("../data/churn.csv") + "  register: {store: \"file:///tmp/mlpipe-registry\"}\n",
		want: []string{relData, fileStore},
	}, {
		name: "deploy into a namespace while the pipeline has none",
		yaml: base + "  register: {store: s3://models/churn}\n  deploy:\n    kserve: {name: churn, namespace: serving}\n",
		want: []string{`f.yaml:11:27: warning: spec.deploy.kserve.namespace: the InferenceService goes to namespace "serving" ` +
			`but metadata.namespace is empty: the RoleBinding there cannot know the namespace of the runner ServiceAccount ` +
			`and names "default"; set metadata.namespace`},
	}, {
		name: "deploy.kubernetes into a namespace while the pipeline has none",
		yaml: base + "  register: {store: s3://models/churn}\n  deploy:\n    kubernetes: {name: churn, namespace: serving}\n",
		want: []string{`f.yaml:11:31: warning: spec.deploy.kubernetes.namespace: the Deployment and the Service go to namespace "serving" ` +
			`but metadata.namespace is empty: the RoleBinding there cannot know the namespace of the runner ServiceAccount ` +
			`and names "default"; set metadata.namespace`},
	}, {
		name: "deploy into another namespace of a namespaced pipeline",
		yaml: strings.Replace(base, "  name: churn\n", "  name: churn\n  namespace: ml\n", 1) +
			"  register: {store: s3://models/churn}\n  deploy:\n    kserve: {name: churn, namespace: serving}\n",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Load("f.yaml", []byte(tt.yaml))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if diff := cmp.Diff(tt.want, warnings(p)); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLoadWarningsExample pins what the bundled example warns about: it is made for local runs.
func TestLoadWarningsExample(t *testing.T) {
	file := filepath.Join("..", "..", "examples", "churn", "mlpipe.yaml")
	p, err := LoadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		file + `:11:5: warning: spec.data.uri: "../data/churn.csv" is a path on this machine (relative to the spec): ` +
			`in a cluster no Pod can read it, so the generated Pipeline's data-uri param has no default; start runs with ` +
			`tkn pipeline start -p data-uri=s3://bucket/key, or use an s3:// URI here`,
		file + `:22:5: warning: spec.register.store: ".mlpipe/registry" is a directory on this machine (relative to the spec): ` +
			`in a cluster no Pod can reach it, so the generated Pipeline's model-store param has no default; start runs with ` +
			`tkn pipeline start -p model-store=s3://bucket/prefix, or use an s3:// store here`,
	}
	if diff := cmp.Diff(want, warnings(p)); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}

func TestLocalDataPath(t *testing.T) {
	dir, err := filepath.Abs(filepath.Join("testdata", "specs"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name                string
		data, store         string
		wantData, wantStore string
	}{{
		name: "relative paths resolve from the spec's directory",
		data: "../data/churn.csv", store: ".mlpipe/registry",
		wantData: filepath.Join(dir, "..", "data", "churn.csv"), wantStore: filepath.Join(dir, ".mlpipe", "registry"),
	}, {
		name: "URIs and absolute paths stay",
		data: "s3://datasets/churn.csv", store: "file:///models",
		wantData: "s3://datasets/churn.csv", wantStore: "file:///models",
	}, {
		name: "absolute paths stay",
		data: "/data/churn.csv", store: "/models",
		wantData: "/data/churn.csv", wantStore: "/models",
	}, {
		name:     "no register",
		data:     "data.csv",
		wantData: filepath.Join(dir, "data.csv"),
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &MLPipeline{Dir: filepath.Join("testdata", "specs"), Spec: Spec{Data: Data{URI: tt.data}}}
			if tt.store != "" {
				p.Spec.Register = &Register{Store: tt.store}
			}
			p.LocalDataPath()
			if p.Spec.Data.URI != tt.wantData {
				t.Errorf("data uri = %q, want %q", p.Spec.Data.URI, tt.wantData)
			}
			if tt.store != "" && p.Spec.Register.Store != tt.wantStore {
				t.Errorf("store = %q, want %q", p.Spec.Register.Store, tt.wantStore)
			}
		})
	}
}

func TestLocationKinds(t *testing.T) {
	tests := []struct {
		uri             string
		relative, local bool
	}{
		{uri: "s3://datasets/churn.csv"},
		{uri: ""},
		{uri: "file:///data/churn.csv", local: true},
		{uri: "/data/churn.csv", local: true},
		{uri: "../data/churn.csv", relative: true, local: true},
		{uri: ".mlpipe/registry", relative: true, local: true},
	}
	for _, tt := range tests {
		t.Run(tt.uri, func(t *testing.T) {
			if got := IsRelativePath(tt.uri); got != tt.relative {
				t.Errorf("IsRelativePath(%q) = %v, want %v", tt.uri, got, tt.relative)
			}
			if got := IsLocal(tt.uri); got != tt.local {
				t.Errorf("IsLocal(%q) = %v, want %v", tt.uri, got, tt.local)
			}
		})
	}
}
