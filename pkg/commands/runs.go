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
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mlpipe/mlpipe/pkg/commands/options"
	"github.com/mlpipe/mlpipe/pkg/gate"
	"github.com/mlpipe/mlpipe/pkg/localrun"
	"github.com/spf13/cobra"
)

// runsListOptions are the flags of mlpipe runs list.
type runsListOptions struct {
	stateDir string
	pipeline string
	status   string
	last     int
	output   string
}

// addRuns registers mlpipe runs list.
func addRuns(topLevel *cobra.Command) {
	runs := &cobra.Command{
		Use:   "runs",
		Short: "Inspect recorded local runs",
	}
	o := &runsListOptions{}
	list := &cobra.Command{
		Use:   "list",
		Short: "List recorded local runs with their gate metric and the params they were given",
		Long: `List prints the recorded runs, oldest first: status (a cancelled run shows Cancelled), start, duration,
the gate metric and outcome, the registered model version and the params given with -p. -o json prints
every field of each run record, all effective params included.`,
		Example: `  mlpipe runs list
  mlpipe runs list --pipeline churn --status Failed --last 5
  mlpipe runs list -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.output != "table" && o.output != "json" {
				return fmt.Errorf("--output must be table or json, not %q", o.output)
			}
			all, err := localrun.ListRuns(o.stateDir)
			if err != nil {
				return err
			}
			var picked []*localrun.Result
			for _, r := range all {
				if (o.pipeline == "" || r.Pipeline == o.pipeline) && (o.status == "" || strings.EqualFold(runStatus(r), o.status)) {
					picked = append(picked, r)
				}
			}
			if o.last > 0 && len(picked) > o.last {
				picked = picked[len(picked)-o.last:]
			}
			if o.output == "json" {
				if picked == nil {
					picked = []*localrun.Result{}
				}
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(picked)
			}
			if len(picked) == 0 {
				if len(all) == 0 {
					fmt.Fprintln(cmd.OutOrStdout(), "No runs recorded yet; start one with mlpipe run.")
				} else {
					fmt.Fprintf(cmd.OutOrStdout(), "None of the %d recorded runs matches.\n", len(all))
				}
				return nil
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "RUN\tPIPELINE\tSTATUS\tSTARTED\tDURATION\tGATE METRIC\tPASSED\tMODEL\tPARAMS")
			for _, r := range picked {
				metric, passed := "-", "-"
				if g := r.Gate; g != nil {
					if g.Value != nil {
						metric = g.Metric + "=" + gate.FormatMetric(*g.Value)
					}
					if g.Passed != nil {
						passed = fmt.Sprint(*g.Passed)
					}
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.RunID, r.Pipeline, runStatus(r),
					r.Started.Local().Format(time.DateTime), r.Finished.Sub(r.Started).Round(10*time.Millisecond), metric, passed,
					orDash(r.ModelVersion), orDash(paramList(r.Overrides)))
			}
			return w.Flush()
		},
	}
	options.AddStateDir(list, &o.stateDir)
	list.Flags().StringVar(&o.pipeline, "pipeline", "", "only runs of this pipeline")
	list.Flags().StringVar(&o.status, "status", "", "only runs with this status: Succeeded, Failed or Cancelled")
	list.Flags().IntVar(&o.last, "last", 0, "only the N most recent runs (after the other filters)")
	list.Flags().StringVarP(&o.output, "output", "o", "table", "output format: table or json")
	runs.AddCommand(list)
	topLevel.AddCommand(runs)
}

// runStatus is a run's status as runs list shows it: Cancelled for a run cancelled before it finished, else the
// PipelineRun's Succeeded or Failed.
func runStatus(r *localrun.Result) string {
	if r.Cancelled() {
		return "Cancelled"
	}
	return r.Status
}

// paramList is params as k=v,k2=v2, sorted by name.
func paramList(params map[string]string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + params[k]
	}
	return strings.Join(parts, ",")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
