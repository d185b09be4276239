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
	"fmt"
	"path"

	"github.com/mlpipe/mlpipe/pkg/spec"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
)

// catalogSpec enables every step with its built-in configuration.
const catalogSpec = `apiVersion: mlpipe.dev/v1alpha1
kind: MLPipeline
metadata: {name: catalog}
spec:
  data: {uri: "s3://datasets/example/train.csv", label: label}
  register: {store: "s3://models"}
  deploy: {kserve: {name: example}}
  alert: {webhook: {secretRef: {name: mlpipe-alert, key: url}}}
`

// samples are values for the required params of the catalog TaskRuns.
var samples = map[string]string{
	"data-uri": "s3://datasets/example/train.csv", "label": "label",
	"dataset-uri": "file:///workspace/artifacts/dataset", "model-uri": "file:///workspace/artifacts/model",
	"metrics-uri": "file:///workspace/artifacts/metrics", "dataset-digest": "sha256:0000000000000000000000000000000000000000000000000000000000000000",
	"store": "s3://models", "model-name": "example", "name": "example", "serving-image": DefaultStepImage,
	"pipeline-run": "example-run", "status": "Failed",
}

type catalogData struct {
	*TaskData
	Description string
	Results     []v1.TaskResult
	Workspaces  []v1.WorkspaceDeclaration
	Samples     map[string]string
}

// Catalog renders the reusable, default-configured Tasks in the Tekton Catalog layout:
// <task>/<version>/<task>.yaml, README.md and tests/run.yaml.
func (r *Renderer) Catalog(ctx context.Context, stepImage string) ([]File, error) {
	p, err := spec.Load("catalog.yaml", []byte(catalogSpec))
	if err != nil {
		return nil, err
	}
	out, err := r.Generate(ctx, p, Options{StepImage: stepImage})
	if err != nil {
		return nil, err
	}
	var files []File
	for i, td := range newPlan(p, Options{StepImage: stepImage}).tasks {
		task := out.Tasks[i]
		dir := path.Join(td.TaskName, TaskVersion)
		cd := catalogData{TaskData: td, Description: task.Spec.Description, Results: task.Spec.Results, Workspaces: task.Spec.Workspaces, Samples: samples}
		readme, err := r.render("catalog-readme.md.tmpl", cd)
		if err != nil {
			return nil, err
		}
		run, err := r.render("catalog-run.yaml.tmpl", cd)
		if err != nil {
			return nil, err
		}
		tr := &v1.TaskRun{}
		if err := strict(path.Join(dir, "tests/run.yaml"), run, tr); err != nil {
			return nil, err
		}
		tr.Name = td.TaskName + "-test"
		tr.SetDefaults(ctx)
		if err := tr.Validate(ctx); err != nil {
			return nil, fmt.Errorf("%s: %w", path.Join(dir, "tests/run.yaml"), err)
		}
		files = append(files,
			File{Name: path.Join(dir, td.TaskName+".yaml"), Data: out.Files[i].Data},
			File{Name: path.Join(dir, "README.md"), Data: readme},
			File{Name: path.Join(dir, "tests", "run.yaml"), Data: run},
		)
	}
	return files, nil
}

// Catalog renders the catalog with the embedded templates.
func Catalog(ctx context.Context, stepImage string) ([]File, error) {
	return embedded.Catalog(ctx, stepImage)
}
