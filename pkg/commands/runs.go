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
	"text/tabwriter"
	"time"

	"github.com/mlpipe/mlpipe/pkg/commands/options"
	"github.com/mlpipe/mlpipe/pkg/localrun"
	"github.com/spf13/cobra"
)

// addRuns registers mlpipe runs list.
func addRuns(topLevel *cobra.Command) {
	runs := &cobra.Command{
		Use:   "runs",
		Short: "Inspect recorded local runs",
	}
	var stateDir string
	list := &cobra.Command{
		Use:   "list",
		Short: "List recorded local runs with their gate metric",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			all, err := localrun.ListRuns(stateDir)
			if err != nil {
				return err
			}
			if len(all) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "No runs recorded yet; start one with mlpipe run.")
				return nil
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "RUN\tPIPELINE\tSTATUS\tSTARTED\tDURATION\tGATE METRIC\tPASSED\tMODEL")
			for _, r := range all {
				metric, passed := "-", "-"
				if g := r.Gate; g != nil {
					if g.Value != nil {
						metric = fmt.Sprintf("%s=%.4g", g.Metric, *g.Value)
					}
					if g.Passed != nil {
						passed = fmt.Sprint(*g.Passed)
					}
				}
				model := r.ModelVersion
				if model == "" {
					model = "-"
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.RunID, r.Pipeline, r.Status,
					r.Started.Local().Format(time.DateTime), r.Finished.Sub(r.Started).Round(10*time.Millisecond), metric, passed, model)
			}
			return w.Flush()
		},
	}
	options.AddStateDir(list, &stateDir)
	runs.AddCommand(list)
	topLevel.AddCommand(runs)
}
