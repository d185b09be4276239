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
	"github.com/spf13/cobra"
)

// addCache registers mlpipe cache explain.
func addCache(topLevel *cobra.Command) {
	c := &cobra.Command{
		Use:   "cache",
		Short: "Inspect the local run cache",
	}
	var stateDir string
	explain := &cobra.Command{
		Use:   "explain RUN TASK",
		Short: "Say why a task of a recorded run hit or missed the cache",
		Long: `Explain prints the cache decision of TASK in RUN (a run id from mlpipe runs list, or "latest").
For a miss it names the inputs that changed since the most recent earlier run of the same
pipeline: params, the substituted task spec, the contents of file:// inputs, workspace files.`,
		Example: "  mlpipe cache explain latest train",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			out, err := localrun.Explain(stateDir, args[0], args[1])
			if err != nil {
				return err
			}
			fmt.Fprint(cmd.OutOrStdout(), out)
			return nil
		},
	}
	options.AddStateDir(explain, &stateDir)
	c.AddCommand(explain)
	topLevel.AddCommand(c)
}
