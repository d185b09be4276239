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
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Version is set at build time with -ldflags "-X github.com/mlpipe/mlpipe/pkg/commands.Version=v0.1.0".
var Version = "devel"

// versionLine is what `mlpipe version` and `mlpipe --version` print.
func versionLine() string {
	tekton := "unknown"
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, d := range info.Deps {
			if d.Path == "github.com/tektoncd/pipeline" {
				tekton = d.Version
			}
		}
	}
	return fmt.Sprintf("mlpipe %s (tektoncd/pipeline %s)\n", Version, tekton)
}

func addVersion(topLevel *cobra.Command) {
	topLevel.Version = Version
	topLevel.SetVersionTemplate(versionLine())
	topLevel.AddCommand(&cobra.Command{
		Use:   "version",
		Short: "Print the mlpipe version and the Tekton version it targets (also mlpipe --version)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprint(cmd.OutOrStdout(), versionLine())
			return nil
		},
	})
}
