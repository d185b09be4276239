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
	"github.com/mlpipe/mlpipe/pkg/localrun"
	"github.com/mlpipe/mlpipe/pkg/localrun/report"
	"github.com/spf13/cobra"
)

// addReport registers mlpipe report.
func addReport(topLevel *cobra.Command) {
	o := &options.ReportOptions{}
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Write an HTML page and a PNG of the gate metric across recorded runs",
		Long: `Report reads the runs recorded by mlpipe run and writes report.png (the gate metric per run, numbered
from 1, with its threshold line and the champions it was compared with, and the latest confusion matrix) and
report.html, which embeds the PNG and lists each run's params, duration, gate value and reasons, model version
and task logs, then the latest run's per-class metrics and confusion matrix.`,
		Example: "  mlpipe report -o report/\n  mlpipe report --y-scale log   # a loss gate",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			all, err := localrun.ListRuns(o.StateDir)
			if err != nil {
				return err
			}
			if len(all) == 0 {
				return fmt.Errorf("no recorded runs under %s; start one with mlpipe run", o.StateDir)
			}
			name := o.Pipeline
			if name == "" {
				name = all[len(all)-1].Pipeline
			}
			var runs []*localrun.Result
			for _, r := range all {
				if r.Pipeline == name {
					runs = append(runs, r)
				}
			}
			files, err := report.Write(runs, o.OutDir, report.Options{YScale: report.Scale(o.YScale)})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s and %s (%d runs of %s)\n", files.HTML, files.PNG, len(runs), name)
			return nil
		},
	}
	options.AddReportOptions(cmd, o)
	topLevel.AddCommand(cmd)
}
