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
	"time"

	"github.com/spf13/cobra"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/clock"

	"github.com/mlpipe/mlpipe/pkg/cache"
	"github.com/mlpipe/mlpipe/pkg/commands/options"
	"github.com/mlpipe/mlpipe/pkg/localrun"
)

// addCache registers mlpipe cache explain and mlpipe cache prune.
func addCache(topLevel *cobra.Command) {
	c := &cobra.Command{
		Use:   "cache",
		Short: "Inspect and prune the task cache",
	}
	c.AddCommand(newCacheExplain(), newCachePrune())
	topLevel.AddCommand(c)
}

// cacheExplainOptions are the flags of mlpipe cache explain.
type cacheExplainOptions struct {
	stateDir string
	// onCluster explains a task of a PipelineRun in the cluster instead of a recorded local run.
	onCluster bool
	cluster   options.ClusterOptions
	// store overrides the cache store a cluster task names.
	store string
}

func newCacheExplain() *cobra.Command {
	o := &cacheExplainOptions{}
	explain := &cobra.Command{
		Use:   "explain RUN TASK",
		Short: "Say why a task of a recorded run, or of a PipelineRun in the cluster, hit or missed the cache",
		Long: `Explain prints the cache decision of TASK in RUN (a run id from mlpipe runs list, or "latest").
For a miss it names the inputs that changed since the most recent earlier run of the same
pipeline: params, the substituted task spec, the contents of file:// inputs, workspace files.

With --cluster, RUN is a PipelineRun in the cluster (--kubeconfig, --context, -n): explain reads the
TaskRun's results cache and cache-key, then the decisions the steps recorded in the cache store the Task
names (MLPIPE_CACHE_STORE, or --store), and compares the key's components with those of the latest
earlier PipelineRun of the same Pipeline that recorded a key for TASK. The store is read with this
machine's AWS_* variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL, AWS_REGION).`,
		Example: `  mlpipe cache explain latest train
  mlpipe cache explain --cluster -n ml churn-run-x7k2p preprocess`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !o.onCluster {
				for _, f := range []string{"kubeconfig", "context", "namespace", "store"} {
					if cmd.Flags().Changed(f) {
						return fmt.Errorf("--%s names a cluster run: add --cluster (without it explain reads the local runs in %s)", f, o.stateDir)
					}
				}
				out, err := localrun.Explain(o.stateDir, args[0], args[1])
				if err != nil {
					return err
				}
				fmt.Fprint(cmd.OutOrStdout(), out)
				return nil
			}
			out, err := explainCluster(cmd, o, args[0], args[1])
			if err != nil {
				return err
			}
			fmt.Fprint(cmd.OutOrStdout(), out)
			return nil
		},
	}
	options.AddStateDir(explain, &o.stateDir)
	explain.Flags().BoolVar(&o.onCluster, "cluster", false, "RUN is a PipelineRun in the cluster the kubeconfig names; without it explain never contacts a cluster")
	options.AddClusterOptions(explain, &o.cluster)
	explain.Flags().StringVar(&o.store, "store", "", "with --cluster: the cache store URI (default: the MLPIPE_CACHE_STORE of the task's step)")
	return explain
}

// cachePruneOptions are the flags of mlpipe cache prune.
type cachePruneOptions struct {
	store  string
	maxAge string
}

func newCachePrune() *cobra.Command {
	o := &cachePruneOptions{}
	prune := &cobra.Command{
		Use:   "prune --store URI --max-age DURATION",
		Short: "Delete the cache entries and decision records older than a maximum age, and the files no entry needs",
		Long: `Prune deletes from the cache store (s3://bucket/prefix or file:///path, the spec's cache.store) every entry
and recorded decision older than --max-age, then every stored file that no remaining entry names. A task that
is storing an entry at that moment may lose a file to the prune: its entry is then a miss, never a wrong result.
An s3:// store is reached with this machine's AWS_* variables.`,
		Example: `  mlpipe cache prune --store s3://ml-cache/churn --max-age 720h`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.store == "" {
				return fmt.Errorf("--store is required: the cache store URI (spec.cache.store), e.g. s3://bucket/cache")
			}
			maxAge, err := cache.ParseMaxAge(o.maxAge)
			if err != nil {
				return fmt.Errorf("--max-age: %w", err)
			}
			if maxAge == 0 {
				return fmt.Errorf("--max-age is required and must be positive (e.g. 720h): prune deletes what is older")
			}
			c, err := cache.Open(cmd.Context(), o.store, 0, clock.RealClock{})
			if err != nil {
				return err
			}
			start := time.Now()
			res, err := c.Prune(cmd.Context(), maxAge)
			if err != nil {
				return fmt.Errorf("error pruning %s (deleted so far: %d entries, %d records, %d files): %w", o.store, res.Entries, res.Records, res.Blobs, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "pruned %s in %s: deleted %d entries, %d decision records and %d files older than %s; kept %d entries and %d files\n",
				c.URI(), time.Since(start).Round(time.Millisecond), res.Entries, res.Records, res.Blobs, maxAge, res.KeptEntries, res.KeptBlobs)
			return nil
		},
	}
	prune.Flags().StringVar(&o.store, "store", "", "cache store URI (s3://bucket/prefix or file:///path)")
	prune.Flags().StringVar(&o.maxAge, "max-age", "", "delete what is older than this (a Go duration, e.g. 720h)")
	return prune
}

// explainCluster explains the cache decision of a pipeline task of a PipelineRun in the cluster, from its
// TaskRun's results and the decisions recorded in the cache store.
func explainCluster(cmd *cobra.Command, o *cacheExplainOptions, run, task string) (string, error) {
	ctx := cmd.Context()
	tc, ns, err := o.cluster.Tekton()
	if err != nil {
		return "", err
	}
	pr, err := tc.TektonV1().PipelineRuns(ns).Get(ctx, run, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "", fmt.Errorf("no PipelineRun %s in namespace %s", run, ns)
	} else if err != nil {
		return "", fmt.Errorf("error reading PipelineRun %s/%s: %w", ns, run, err)
	}
	trs, err := tc.TektonV1().TaskRuns(ns).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(labels.Set{
		pipeline.PipelineRunLabelKey: run, pipeline.PipelineTaskLabelKey: task}).String()})
	if err != nil {
		return "", fmt.Errorf("error listing the TaskRuns of PipelineRun %s/%s: %w", ns, run, err)
	}
	if len(trs.Items) == 0 {
		for _, s := range pr.Status.SkippedTasks {
			if s.Name == task {
				return fmt.Sprintf("%s was skipped in run %s (%s); the cache was not consulted\n", task, run, s.Reason), nil
			}
		}
		return "", fmt.Errorf("PipelineRun %s has no TaskRun for task %q", run, task)
	}
	tr := &trs.Items[0]
	decision, key := taskRunResult(tr, cache.ResultCache), taskRunResult(tr, cache.ResultKey)
	if decision == "" {
		return "", fmt.Errorf("TaskRun %s (task %s) has no %q result: its Task does not use the cluster cache "+
			"(generate with spec.cache.store), or the step ended before deciding", tr.Name, task, cache.ResultCache)
	}
	storeURI := o.store
	if storeURI == "" {
		if storeURI = stepEnv(tr, cache.EnvStore); storeURI == "" {
			return "", fmt.Errorf("TaskRun %s names no cache store (%s): give --store", tr.Name, cache.EnvStore)
		}
	}
	c, err := cache.Open(ctx, storeURI, 0, clock.RealClock{})
	if err != nil {
		return "", err
	}
	pipelineName := tr.Labels[pipeline.PipelineLabelKey]
	records, err := c.Records(ctx, pipelineName, task)
	if err != nil {
		return "", fmt.Errorf("error reading the cache decisions of %s/%s in %s: %w", pipelineName, task, storeURI, err)
	}
	cur, prev := -1, -1
	for i, r := range records {
		if r.Run == run {
			cur = i
		}
	}
	for i := cur - 1; i >= 0; i-- {
		if records[i].Run != run && records[i].Key != "" {
			prev = i
			break
		}
	}
	var b strings.Builder
	var rec *cache.Record
	if cur >= 0 {
		rec = &records[cur]
	}
	switch decision {
	case cache.Off:
		reason := "the cache was off"
		if rec != nil && rec.Reason != "" {
			reason = rec.Reason
		}
		fmt.Fprintf(&b, "%s in run %s: not cached: %s\n", task, run, reason)
		return b.String(), nil
	case cache.Hit:
		fmt.Fprintf(&b, "%s in run %s: cache HIT, key %s\n", task, run, cache.Short(key))
		if rec != nil {
			fmt.Fprintf(&b, "  outputs and results restored from %s: the same Task, params, input artifacts and programs\n", rec.CachedFrom)
			b.WriteString(localrun.FormatComponents(rec.Components))
		}
		return b.String(), nil
	}
	fmt.Fprintf(&b, "%s in run %s: cache MISS, key %s\n", task, run, cache.Short(key))
	if rec == nil {
		return "", fmt.Errorf("%s in run %s missed, but the cache store %s holds no decision of that run for it (pruned?)", task, run, storeURI)
	}
	if prev < 0 {
		fmt.Fprintf(&b, "  no earlier run of pipeline %s recorded a key for %s: nothing to reuse yet\n", pipelineName, task)
		return b.String(), nil
	}
	p := records[prev]
	if p.Key == rec.Key {
		fmt.Fprintf(&b, "  run %s had the same key but its entry was not usable: %s\n", p.Run, rec.Reason)
		return b.String(), nil
	}
	fmt.Fprintf(&b, "  compared with run %s (key %s), these inputs changed:\n", p.Run, cache.Short(p.Key))
	for _, line := range localrun.ChangedComponents(p.Components, rec.Components) {
		fmt.Fprintf(&b, "  - %s\n", line)
	}
	return b.String(), nil
}

// taskRunResult is a TaskRun's string result, "" when absent.
func taskRunResult(tr *v1.TaskRun, name string) string {
	for _, r := range tr.Status.Results {
		if r.Name == name {
			return r.Value.StringVal
		}
	}
	return ""
}

// stepEnv is the literal value of an env var of the TaskRun's steps (from the spec Tekton stored), "" if none.
func stepEnv(tr *v1.TaskRun, name string) string {
	if tr.Status.TaskSpec == nil {
		return ""
	}
	for _, s := range tr.Status.TaskSpec.Steps {
		for _, e := range s.Env {
			if e.Name == name && e.ValueFrom == nil {
				return e.Value
			}
		}
	}
	return ""
}
