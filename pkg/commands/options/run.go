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

package options

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// RunOptions control a local run.
type RunOptions struct {
	// Dir runs already generated YAML instead of generating from the spec.
	Dir string
	// Params are -p name=value overrides.
	Params []string
	// Parallel bounds concurrently running tasks.
	Parallel int
	// NoCache disables the cache for this run.
	NoCache bool
	// CacheStore is a shared cache's URI (s3:// or file://) instead of the state dir's cache.
	CacheStore string
	// PassEnv are host variables passed to every step beside its declared env.
	PassEnv []string
	// DeployToCluster lets the deploy step apply to the cluster KUBECONFIG names.
	DeployToCluster bool
	// Output is "table" or "json".
	Output string
	// StateDir holds runs/ and cache/.
	StateDir string
	// Timeout is the PipelineRun's pipeline timeout; 0 keeps Tekton's default.
	Timeout time.Duration
}

// AddRunOptions registers the flags of mlpipe run.
func AddRunOptions(cmd *cobra.Command, o *RunOptions) {
	cmd.Flags().StringVar(&o.Dir, "dir", "", "run the Tekton YAML in this directory (as written by mlpipe generate) instead of generating from -f")
	cmd.Flags().StringArrayVarP(&o.Params, "param", "p", nil, "override a pipeline param: -p name=value (repeatable)")
	cmd.Flags().IntVar(&o.Parallel, "parallel", 4, "run at most N tasks at once")
	cmd.Flags().BoolVar(&o.NoCache, "no-cache", false, "run every task, neither reading nor writing the cache")
	cmd.Flags().StringVar(&o.CacheStore, "cache-store", "", "use the shared cache at this URI (e.g. the spec's cache.store, s3://bucket/cache) instead of <state-dir>/cache, "+
		"so that a local run and the cluster reuse each other's results (S3 credentials: AWS_* on this machine)")
	cmd.Flags().BoolVar(&o.DeployToCluster, "deploy-to-cluster", false, "let the deploy step apply to the cluster KUBECONFIG names; without it a local run never contacts a cluster")
	cmd.Flags().StringArrayVar(&o.PassEnv, "pass-env", nil, "pass this machine's variable NAME to every step (repeatable); by default a step sees only its declared env and PATH, HOME, TMPDIR, locale")
	cmd.Flags().StringVarP(&o.Output, "output", "o", "table", "output format: table or json")
	AddStateDir(cmd, &o.StateDir)
	cmd.Flags().DurationVar(&o.Timeout, "timeout", 0, "PipelineRun pipeline timeout (default: Tekton's default-timeout-minutes, 1h)")
}

// AddStateDir registers --state-dir, shared by run, runs, cache and report.
func AddStateDir(cmd *cobra.Command, dir *string) {
	cmd.Flags().StringVar(dir, "state-dir", ".mlpipe", "directory holding recorded runs and the cache")
}

// ParamMap parses the -p flags.
func (o *RunOptions) ParamMap() (map[string]string, error) {
	m := map[string]string{}
	for _, p := range o.Params {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("bad -p %q: want name=value", p)
		}
		m[k] = v
	}
	return m, nil
}

// Validate checks the flag values.
func (o *RunOptions) Validate() error {
	if o.Output != "table" && o.Output != "json" {
		return fmt.Errorf("--output must be table or json, not %q", o.Output)
	}
	if o.Parallel < 1 {
		return fmt.Errorf("--parallel must be at least 1")
	}
	return nil
}

// ReportOptions control mlpipe report.
type ReportOptions struct {
	// OutDir receives report.html and report.png.
	OutDir string
	// StateDir holds the recorded runs.
	StateDir string
	// Pipeline restricts the report to one pipeline ("" = the latest run's).
	Pipeline string
	// YScale is the metric chart's y scale: auto, linear or log.
	YScale string
}

// AddReportOptions registers the flags of mlpipe report.
func AddReportOptions(cmd *cobra.Command, o *ReportOptions) {
	cmd.Flags().StringVarP(&o.OutDir, "output-dir", "o", "report", "directory for report.html and report.png")
	cmd.Flags().StringVar(&o.Pipeline, "pipeline", "", "pipeline to report on (default: the one of the latest run)")
	cmd.Flags().StringVar(&o.YScale, "y-scale", "auto", "metric axis: linear, log, or auto (log for a loss whose values span 10x or more)")
	AddStateDir(cmd, &o.StateDir)
}
