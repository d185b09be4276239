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

package commands

import (
	"fmt"

	"github.com/mlpipe/mlpipe/pkg/commands/options"
	"github.com/mlpipe/mlpipe/pkg/generate"
	"github.com/mlpipe/mlpipe/pkg/spec"
	"github.com/spf13/cobra"
)

func addValidate(topLevel *cobra.Command) {
	so := &options.SpecOptions{}
	gopts := &options.GenerateOptions{}
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check a spec and the Tekton objects it renders; print every problem as FILE:LINE:COL: field: message",
		Long: `Validate checks the spec and every object it renders with Tekton's own code, and prints every problem as
FILE:LINE:COL: field: message (exit status 1). What works locally but not in a cluster (file:// or path
locations instead of s3://) is printed as FILE:LINE:COL: warning: field: message on stderr; the spec is
still valid (exit status 0).`,
		Example: `  mlpipe validate -f mlpipe.yaml
  mlpipe validate -f mlpipe.yaml --when=cel`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := spec.LoadFile(so.File)
			if err != nil {
				return err
			}
			out, err := generate.Generate(cmd.Context(), p, gopts.Options())
			if err != nil {
				return err
			}
			printWarnings(cmd, out.Warnings)
			fmt.Fprintf(cmd.OutOrStdout(), "%s: valid: %d Tasks, Pipeline %s, gate %s %s %s\n", so.File, len(out.Tasks), out.Pipeline.Name,
				p.Spec.Steps.Evaluate.Metric, p.Spec.Steps.Evaluate.Operator, out.Pipeline.Annotations["mlpipe.dev/gate-threshold"])
			return nil
		},
	}
	options.AddSpecOptions(cmd, so)
	options.AddGenerateOptions(cmd, gopts)
	topLevel.AddCommand(cmd)
}
