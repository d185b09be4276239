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

func addGenerate(topLevel *cobra.Command) {
	so := &options.SpecOptions{}
	gopts := &options.GenerateOptions{}
	var outDir string
	cmd := &cobra.Command{
		Use:   "generate",
		Short: "Render Tekton Tasks, the gated Pipeline, a sample PipelineRun and a kustomization",
		Long: `Generate renders the spec into out/ after Tekton's own validation of every object. It warns, as
FILE:LINE:COL: warning: field: message on stderr, about what works locally but not in a cluster: a data
or registry location on this machine (file://, a path) instead of s3://. Warnings do not stop it.`,
		Example: `  # render into out/, then apply with kubectl and start with tkn
  mlpipe generate -f examples/churn/mlpipe.yaml -o out
  kubectl apply -k out
  tkn pipeline start churn -s churn-runner --use-param-defaults \
    -p data-uri=s3://datasets/churn/train.csv -p model-store=s3://models/churn \
    --workspace name=artifacts,volumeClaimTemplateFile=out/workspace-template.yaml

  # CEL gate on the metric value (clusters with enable-cel-in-whenexpression)
  mlpipe generate -f mlpipe.yaml -o out --when=cel`,
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
			if err := generate.WriteDir(outDir, out.Files); err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "%-34s %s\n", "FILE", "OBJECT")
			for i, f := range out.Files {
				fmt.Fprintf(w, "%-34s %s\n", f.Name, describeFile(out, i))
			}
			fmt.Fprintf(w, "\nwrote %d files to %s: kubectl apply -k %s\n", len(out.Files), outDir, outDir)
			return nil
		},
	}
	options.AddSpecOptions(cmd, so)
	options.AddGenerateOptions(cmd, gopts)
	cmd.Flags().StringVarP(&outDir, "output-dir", "o", "out", "directory to write into (files are replaced atomically, nothing is written on error)")
	topLevel.AddCommand(cmd)
}

// printWarnings writes each warning as FILE:LINE:COL: warning: field: message to stderr.
func printWarnings(cmd *cobra.Command, warnings spec.ErrorList) {
	for _, w := range warnings {
		fmt.Fprintln(cmd.ErrOrStderr(), w.Warning())
	}
}

// describeFile names the object a generated file holds.
func describeFile(out *generate.Output, i int) string {
	switch {
	case out.Files[i].Name == generate.RBACFile && out.ServiceAccount != nil:
		return "ServiceAccount/" + out.ServiceAccount.Name + ", Role+RoleBinding/" + out.Role.Name
	case out.Files[i].Name == "schedule.yaml" && out.Schedule != nil:
		return "PipelineSchedule/" + out.Schedule.Name
	case i < len(out.Tasks):
		return "Task/" + out.Tasks[i].Name
	case i == len(out.Tasks):
		return "Pipeline/" + out.Pipeline.Name
	case i == len(out.Tasks)+1:
		return "PipelineRun/" + out.PipelineRun.GenerateName + "*"
	}
	return "-"
}
