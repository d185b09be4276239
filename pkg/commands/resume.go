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
	"strings"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/apis"

	"github.com/mlpipe/mlpipe/pkg/commands/options"
	"github.com/mlpipe/mlpipe/pkg/resume"
)

// resumeOptions are the flags of mlpipe resume.
type resumeOptions struct {
	cluster options.ClusterOptions
	// uncached resumes a run whose cache is off, rerunning every task.
	uncached bool
}

// addResume registers mlpipe resume.
func addResume(topLevel *cobra.Command) {
	o := &resumeOptions{}
	cmd := &cobra.Command{
		Use:   "resume PIPELINERUN",
		Short: "Start a new PipelineRun in the cluster that resumes a failed one: finished tasks hit the cache",
		Long: `resume reads PIPELINERUN from the cluster (--kubeconfig, --context, -n) and creates a new PipelineRun with
the same Pipeline, params, workspaces and run settings, named <PIPELINERUN>-resume-<n> and labelled
` + resume.ResumesLabel + `: <PIPELINERUN>. The tasks whose inputs did not change hit the cluster cache and
restore their outputs, so only the failed task and what follows it run again. A scheduled or S3-started run
keeps its own name: the resume is a new run, linked by the label.

resume refuses a run that is still running (wait or cancel it first) or that succeeded, and a run none of whose
finished tasks used the cache (TaskRun result "cache" = off, or none): it would redo every task; --uncached
resumes it anyway.`,
		Example: `  mlpipe resume churn-run-x7k2p -n ml
  mlpipe resume churn-29112840 -n ml --kubeconfig ~/.kube/prod`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runResume(cmd, o, args[0])
		},
	}
	options.AddClusterOptions(cmd, &o.cluster)
	cmd.Flags().BoolVar(&o.uncached, "uncached", false, "resume even when the run's cache is off: every task runs again")
	topLevel.AddCommand(cmd)
}

func runResume(cmd *cobra.Command, o *resumeOptions, name string) error {
	ctx := cmd.Context()
	tc, ns, err := o.cluster.Tekton()
	if err != nil {
		return err
	}
	orig, err := tc.TektonV1().PipelineRuns(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("no PipelineRun %s in namespace %s", name, ns)
	} else if err != nil {
		return fmt.Errorf("error reading PipelineRun %s/%s: %w", ns, name, err)
	}
	if err := resume.Check(orig); err != nil {
		return err
	}
	tasks, err := resume.Tasks(ctx, tc, orig)
	if err != nil {
		return err
	}
	uncached := resume.Uncached(tasks)
	if uncached != "" && !o.uncached {
		return fmt.Errorf("PipelineRun %s: %s: a resume would run every task again, as a new run does; "+
			"start a new run, or resume with --uncached", name, uncached)
	}
	created, err := resume.Create(ctx, tc, orig, resume.PipelineMeta(ctx, tc, orig))
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	var failed, again []string
	for _, t := range tasks {
		if t.Failed {
			failed = append(failed, t.Name+" ("+t.Reason+")")
		} else if t.Succeeded && !t.Cached() {
			again = append(again, t.Name)
		}
	}
	what := "it ended " + orig.Status.GetCondition(apis.ConditionSucceeded).Reason
	if len(failed) > 0 {
		what = "failed: " + strings.Join(failed, ", ")
	}
	fmt.Fprintf(out, "PipelineRun %s created in namespace %s: it resumes %s (%s).\n", created.Name, ns, name, what)
	switch {
	case uncached != "":
		fmt.Fprintf(out, "Every task runs again: %s.\n", uncached)
	case len(again) > 0:
		fmt.Fprintf(out, "Finished tasks whose inputs did not change restore their outputs from the cache; %s did not use it and run again.\n", strings.Join(again, ", "))
	default:
		fmt.Fprintln(out, "Finished tasks whose inputs did not change restore their outputs from the cache; the rest run again.")
	}
	for _, line := range resume.Workspaces(orig) {
		fmt.Fprintln(out, line)
	}
	fmt.Fprintf(out, "Follow it: tkn pipelinerun logs -f %s -n %s\n", created.Name, ns)
	return nil
}
