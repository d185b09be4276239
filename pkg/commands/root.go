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

// Package commands holds the mlpipe CLI: one file per verb.
package commands

import (
	"github.com/spf13/cobra"
)

// New returns the mlpipe root command with every verb registered.
func New() *cobra.Command {
	root := &cobra.Command{
		Use:   "mlpipe",
		Short: "Kubeflow-Pipelines-grade ML automation on plain Tekton",
		Long: `mlpipe turns one short spec (mlpipe.yaml) into reusable Tekton Tasks and a gated Pipeline
(preprocess → train → evaluate → register → deploy, alert in finally), runs that same Pipeline on
this machine, and keeps it running in a cluster on schedules and new data.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	addGenerate(root)
	addValidate(root)
	addVersion(root)
	addStep(root)
	addRun(root)
	addRuns(root)
	addCache(root)
	addResume(root)
	addReport(root)
	addSchedule(root)
	addEvents(root)
	return root
}
