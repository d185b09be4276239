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

package localrun

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	yamlv3 "go.yaml.in/yaml/v3"
	"sigs.k8s.io/yaml"
)

// Objects are the Tekton objects of one pipeline.
type Objects struct {
	// Pipeline is the single Pipeline.
	Pipeline *v1.Pipeline
	// Tasks are the Tasks it may reference.
	Tasks []*v1.Task
}

// LoadDir reads every *.yaml and *.yml file under dir (recursively, hidden folders such as .mlpipe left out), decodes
// each document of kind Task or Pipeline of tekton.dev/v1 strictly (unknown
// fields are errors), ignores other kinds, and runs SetDefaults and Validate.
// Exactly one Pipeline must be found.
func LoadDir(ctx context.Context, dir string) (*Objects, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != dir && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir // .mlpipe (runs record their objects there), .git, ...
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("error reading %s: %w", dir, err)
	}
	sort.Strings(files)
	objs := &Objects{}
	var pipelines []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		if err := objs.decode(ctx, f, b, &pipelines); err != nil {
			return nil, err
		}
	}
	switch len(pipelines) {
	case 0:
		return nil, fmt.Errorf("no tekton.dev/v1 Pipeline found in %s", dir)
	case 1:
	default:
		return nil, fmt.Errorf("%d Pipelines found in %s: %s; keep one per directory", len(pipelines), dir, strings.Join(pipelines, ", "))
	}
	return objs, nil
}

func (o *Objects) decode(ctx context.Context, file string, data []byte, pipelines *[]string) error {
	dec := yamlv3.NewDecoder(bytes.NewReader(data))
	for i := 1; ; i++ {
		var node yamlv3.Node
		if err := dec.Decode(&node); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("%s: document %d: %w", file, i, err)
		}
		doc, err := yamlv3.Marshal(&node)
		if err != nil {
			return err
		}
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if err := yaml.Unmarshal(doc, &head); err != nil {
			return fmt.Errorf("%s: document %d: %w", file, i, err)
		}
		if head.APIVersion != "tekton.dev/v1" || (head.Kind != "Task" && head.Kind != "Pipeline") {
			continue
		}
		where := fmt.Sprintf("document %d (%s)", i, head.Kind)
		switch head.Kind {
		case "Task":
			var t v1.Task
			if err := yaml.UnmarshalStrict(doc, &t); err != nil {
				return locateDecodeError(file, where, &node, err)
			}
			t.SetDefaults(ctx)
			if err := t.Validate(ctx); err != nil {
				return locateValidationError(file, where+" "+t.Name, &node, err)
			}
			o.Tasks = append(o.Tasks, &t)
		case "Pipeline":
			var p v1.Pipeline
			if err := yaml.UnmarshalStrict(doc, &p); err != nil {
				return locateDecodeError(file, where, &node, err)
			}
			p.SetDefaults(ctx)
			if err := p.Validate(ctx); err != nil {
				return locateValidationError(file, where+" "+p.Name, &node, err)
			}
			o.Pipeline = &p
			*pipelines = append(*pipelines, fmt.Sprintf("%s in %s", p.Name, file))
		}
	}
}

// UsesCEL reports whether any when expression of the Pipeline is CEL; the
// runner then needs enable-cel-in-whenexpression in the context's config.
func UsesCEL(p *v1.Pipeline) bool {
	for _, list := range [][]v1.PipelineTask{p.Spec.Tasks, p.Spec.Finally} {
		for _, pt := range list {
			for _, w := range pt.When {
				if w.CEL != "" {
					return true
				}
			}
		}
	}
	return false
}
