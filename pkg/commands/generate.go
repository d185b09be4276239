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

	"os"
	"path/filepath"
	"sort"
	"strings"

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
or registry location on this machine (file://, a path) instead of s3://. Warnings do not stop it.

Generate owns the files it writes: it lists them in DIR/` + generatedManifest + `, and a later generate into
the same DIR removes those an earlier one wrote that the spec no longer produces (schedule.yaml, triggers/,
tasks of removed steps), so that kubectl apply -k and ko resolve -f see only this spec's objects. Files it
did not write are never touched. Every file is staged and renamed into place once all are written.`,
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
			removed, err := writeOwnedDir(outDir, out.Files)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "%-34s %s\n", "FILE", "OBJECT")
			for i, f := range out.Files {
				fmt.Fprintf(w, "%-34s %s\n", f.Name, describeFile(out, i))
			}
			for _, name := range removed {
				fmt.Fprintf(w, "%-34s %s\n", name, "removed (an earlier generate wrote it; this spec does not)")
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

// generatedManifest is the file in generate's output directory that lists the files generate wrote there.
const generatedManifest = ".mlpipe-generated"

// writeOwnedDir writes files into dir (generate.WriteDir: nothing is replaced unless every file was staged), then
// removes the files the previous manifest lists that are not among them, with the folders that leaves empty, and
// writes the new manifest. It returns the removed names.
func writeOwnedDir(dir string, files []generate.File) ([]string, error) {
	manifest := filepath.Join(dir, generatedManifest)
	var before []string
	if b, err := os.ReadFile(manifest); err == nil {
		before = strings.Fields(string(b))
	} else if !os.IsNotExist(err) {
		return nil, fmt.Errorf("error reading %s: %w", manifest, err)
	}
	names := make([]string, 0, len(files))
	now := map[string]bool{}
	for _, f := range files {
		names = append(names, f.Name)
		now[f.Name] = true
	}
	sort.Strings(names)
	if err := generate.WriteDir(dir, append(files, generate.File{Name: generatedManifest, Data: []byte(strings.Join(names, "\n") + "\n")})); err != nil {
		return nil, err
	}
	var removed []string
	for _, name := range before {
		if now[name] || name == generatedManifest || !filepath.IsLocal(filepath.FromSlash(name)) {
			continue
		}
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.Remove(path); err != nil {
			if os.IsNotExist(err) {
				continue
			}
			return removed, fmt.Errorf("error removing %s, which an earlier generate wrote: %w", path, err)
		}
		removed = append(removed, name)
		for d := filepath.Dir(path); d != filepath.Clean(dir) && strings.HasPrefix(d, filepath.Clean(dir)); d = filepath.Dir(d) {
			if os.Remove(d) != nil { // not empty: a file of the user's, or of this spec
				break
			}
		}
	}
	return removed, nil
}
