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

// Package options holds the flag structs of the mlpipe commands.
package options

import (
	"github.com/mlpipe/mlpipe/pkg/generate"
	"github.com/spf13/cobra"
)

// SpecOptions names the spec file.
type SpecOptions struct {
	// File is the path of mlpipe.yaml.
	File string
}

// AddSpecOptions registers -f/--file.
func AddSpecOptions(cmd *cobra.Command, o *SpecOptions) {
	cmd.Flags().StringVarP(&o.File, "file", "f", "mlpipe.yaml", "path of the MLPipeline spec")
}

// GenerateOptions control rendering.
type GenerateOptions struct {
	// TemplatesDir overrides embedded templates with files of the same name.
	TemplatesDir string
	// When selects the gate form: result or cel.
	When string
	// StepImage is the image of the built-in steps.
	StepImage string
}

// AddGenerateOptions registers --templates, --when and --step-image.
func AddGenerateOptions(cmd *cobra.Command, o *GenerateOptions) {
	cmd.Flags().StringVar(&o.TemplatesDir, "templates", "", "directory whose *.yaml.tmpl files replace the embedded templates of the same name")
	cmd.Flags().StringVar(&o.When, "when", generate.WhenResult, "gate form: \"result\" (when on $(tasks.evaluate.results.passed), any Tekton) or \"cel\" (CEL on the metric; needs enable-cel-in-whenexpression)")
	cmd.Flags().StringVar(&o.StepImage, "step-image", generate.DefaultStepImage, "image of the built-in steps (ko:// references are resolved by ko resolve/apply)")
}

// Options converts the flags to generator options.
func (o *GenerateOptions) Options() generate.Options {
	return generate.Options{TemplatesDir: o.TemplatesDir, When: o.When, StepImage: o.StepImage}
}
