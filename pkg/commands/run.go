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
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mlpipe/mlpipe/pkg/commands/options"
	"github.com/mlpipe/mlpipe/pkg/generate"
	"github.com/mlpipe/mlpipe/pkg/localrun"
	"github.com/mlpipe/mlpipe/pkg/spec"
	"github.com/spf13/cobra"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"golang.org/x/term"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// addRun registers mlpipe run.
func addRun(topLevel *cobra.Command) {
	so := &options.SpecOptions{}
	gen := &options.GenerateOptions{}
	ro := &options.RunOptions{}
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the pipeline on this machine with Tekton's semantics",
		Long: `Run generates the Tasks and Pipeline from the spec (or loads them from --dir) and executes
that same Pipeline here: Tekton's own DAG, substitution, when and finally code decides what runs;
steps run as local processes. Runs are recorded under .mlpipe/runs/<pipeline>/<run-id>/.

Exit status: 0 the run succeeded and the gate passed; 1 nothing ran (bad flags, spec or Pipeline);
2 a task failed (the PipelineRun is Failed); 3 every task succeeded but the gate failed (the model
was not registered); 130 interrupted (Ctrl-C), the run recorded as Cancelled.

A step sees only the env its Task declares, the runner's TEKTON_RESULTS_DIR and
MLPIPE_CLUSTER_ACCESS, and ` + strings.Join(localrun.BaselineEnv, ", ") + ` and LC_*
of this machine; --pass-env NAME adds a host variable. With no webhook configured (its
MLPIPE_SECRET_* unset) the alert task prints the message it would send and succeeds.

A local run never contacts a cluster: every step gets MLPIPE_CLUSTER_ACCESS=none, and deploy prints
the InferenceService instead of applying it. --deploy-to-cluster applies it to the cluster
KUBECONFIG names (and never takes deploy from the cache).

Relative paths: in the spec (spec.data.uri, spec.register.store) they are relative to the spec's folder;
given with -p data-uri=… or -p model-store=… they are relative to the working directory.

Secrets: env from secretKeyRef {name: N, key: K} reads MLPIPE_SECRET_<N>_<K> (upper-case,
other characters as _), else the variable of the step env's own name.`,
		Example: `  mlpipe run -f mlpipe.yaml
  mlpipe run -f mlpipe.yaml -p epochs=5 --output json
  mlpipe run --dir out/
  mlpipe run -f mlpipe.yaml --deploy-to-cluster   # deploy applies to the KUBECONFIG cluster`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := ro.Validate(); err != nil {
				return err
			}
			params, err := ro.ParamMap()
			if err != nil {
				return err
			}
			absLocationParams(params)
			if err := listParamsFromJSON(params); err != nil {
				return err
			}
			ctx := cmd.Context()
			var (
				p     *v1.Pipeline
				tasks []*v1.Task
			)
			if ro.Dir != "" {
				objs, err := localrun.LoadDir(localrun.WithCEL(ctx), ro.Dir)
				if err != nil {
					return err
				}
				p, tasks = objs.Pipeline, objs.Tasks
			} else {
				s, err := spec.LoadFile(so.File)
				if err != nil {
					return err
				}
				s.LocalDataPath()
				out, err := generate.Generate(ctx, s, gen.Options())
				if err != nil {
					return fmt.Errorf("error generating the pipeline: %w", err)
				}
				p, tasks = out.Pipeline, out.Tasks
			}
			if localrun.UsesCEL(p) {
				// The local runner acts as a cluster with enable-cel-in-whenexpression on.
				ctx = localrun.WithCEL(ctx)
			}
			opts := localrun.Options{Params: params, Parallel: ro.Parallel, NoCache: ro.NoCache, CacheStore: ro.CacheStore, DeployToCluster: ro.DeployToCluster,
				PassEnv: ro.PassEnv, Root: ro.StateDir, Log: cmd.ErrOrStderr()}
			if ro.Timeout > 0 {
				opts.Timeouts = &v1.TimeoutFields{Pipeline: &metav1.Duration{Duration: ro.Timeout}}
			}
			var display *localrun.Display
			if ro.Output == "table" {
				display = localrun.NewDisplay(cmd.OutOrStdout(), isTerminal(cmd.OutOrStdout()))
				opts.Events = display.Handle
			}
			res, err := localrun.Run(ctx, p, tasks, opts)
			if display != nil {
				display.Close()
			}
			if err != nil {
				return err
			}
			if ro.Output == "json" {
				if err := writeRunJSON(cmd, res); err != nil {
					return err
				}
			} else {
				localrun.Summary(cmd.OutOrStdout(), res)
				for _, name := range res.PrintedNotApplied {
					fmt.Fprintf(cmd.OutOrStdout(), "  %s printed what it would deploy and applied nothing (a local run never contacts a cluster; --deploy-to-cluster applies it); see %s\n",
						name, filepath.Join(res.Dir, "tasks", name, "log.txt"))
				}
				if res.AlertNotSent != "" {
					fmt.Fprintf(cmd.OutOrStdout(), "  alert not sent (no webhook configured on this machine); it would say:\n    %s\n", res.AlertNotSent)
				}
			}
			if code := runExitCode(res); code != ExitOK {
				return &ExitError{Code: code}
			}
			return nil
		},
	}
	options.AddSpecOptions(cmd, so)
	options.AddGenerateOptions(cmd, gen)
	options.AddRunOptions(cmd, ro)
	topLevel.AddCommand(cmd)
}

// locationParams are the Pipeline params that carry spec.data.uri and spec.register.store (pkg/generate's
// pipelineParams); a local run's steps run in their own folders, so a relative path given with -p must be
// made absolute first.
var locationParams = []string{"data-uri", "model-store"}

// absLocationParams makes relative paths in -p data-uri / model-store absolute against the working directory,
// as for any path on a command line (paths in the spec are relative to the spec's folder: LocalDataPath).
func absLocationParams(params map[string]string) {
	for _, name := range locationParams {
		if v, ok := params[name]; ok && spec.IsRelativePath(v) {
			params[name] = absPath(v)
		}
	}
}

// listParams are the string Pipeline params that carry a comma-separated list (pkg/generate's pipelineParams:
// spec.data.exclude); -p takes them as a,b or, as for array params, as a JSON array.
var listParams = []string{"exclude"}

// listParamsFromJSON turns a JSON array given for a list param into the CSV line the step reads (CSV quoting
// for names with commas or quotes).
func listParamsFromJSON(params map[string]string) error {
	for _, name := range listParams {
		v, ok := params[name]
		if !ok || !strings.HasPrefix(strings.TrimSpace(v), "[") {
			continue
		}
		var items []string
		if err := json.Unmarshal([]byte(v), &items); err != nil {
			return fmt.Errorf("-p %s=%s: not a JSON array of strings (%v); give a,b,c or [\"a\",\"b\"]", name, v, err)
		}
		var b strings.Builder
		w := csv.NewWriter(&b)
		if err := w.Write(items); err != nil {
			return err
		}
		w.Flush()
		params[name] = strings.TrimSuffix(b.String(), "\n")
	}
	return nil
}

// runExitCode is the exit status of a finished run (see the Exit* constants).
func runExitCode(res *localrun.Result) int {
	switch {
	case res.Cancelled():
		return ExitCancelled
	case !res.Succeeded():
		return ExitTaskFailed
	case res.GateFailed():
		return ExitGateFailed
	}
	return ExitOK
}

// runJSON is the --output json document.
type runJSON struct {
	Status       string         `json:"status"`
	Reason       string         `json:"reason,omitempty"`
	RunID        string         `json:"runID"`
	Pipeline     string         `json:"pipeline"`
	PipelineRun  string         `json:"pipelineRun"`
	Dir          string         `json:"dir"`
	Duration     string         `json:"duration"`
	Gate         *localrun.Gate `json:"gate,omitempty"`
	Model        string         `json:"modelVersion,omitempty"`
	ExitCode     int            `json:"exitCode"`
	AlertNotSent string         `json:"alertNotSent,omitempty"`
	NotApplied   []string       `json:"printedNotApplied,omitempty"`
	Tasks        []taskJSON     `json:"tasks"`
}

type taskJSON struct {
	Name    string            `json:"name"`
	Status  string            `json:"status"`
	Reason  string            `json:"reason,omitempty"`
	Message string            `json:"message,omitempty"`
	Results map[string]string `json:"results"`
}

func writeRunJSON(cmd *cobra.Command, res *localrun.Result) error {
	doc := runJSON{Status: res.Status, Reason: res.Reason, RunID: res.RunID, Pipeline: res.Pipeline, PipelineRun: res.PipelineRun,
		Dir: res.Dir, Duration: res.Finished.Sub(res.Started).Round(time.Millisecond).String(), Gate: res.Gate, Model: res.ModelVersion,
		ExitCode: runExitCode(res), AlertNotSent: res.AlertNotSent, NotApplied: res.PrintedNotApplied}
	for _, t := range res.Tasks {
		r := t.Results
		if r == nil {
			r = map[string]string{}
		}
		doc.Tasks = append(doc.Tasks, taskJSON{Name: t.Name, Status: string(t.Status), Reason: t.Reason, Message: t.Message, Results: r})
	}
	enc := json.NewEncoder(cmd.OutOrStdout())
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// isTerminal reports whether w is a terminal (golang.org/x/term).
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
