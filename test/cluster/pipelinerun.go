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

package cluster

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/tektoncd/pipeline/pkg/apis/pipeline"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/wait"
	"knative.dev/pkg/apis"
)

// Outcomes says how each pipeline task's TaskRun ends, keyed by pipeline task name (the tekton.dev/pipelineTask
// label). A task that is not in the map succeeds with no results. A retried task gets the same outcome on every
// attempt.
type Outcomes map[string]TaskOutcome

// RunPipelineRun creates the PipelineRun and plays kubelet for it until Tekton's controller marks it done (see
// DrivePipelineRun). It returns the PipelineRun as Tekton last wrote it.
func (c *Cluster) RunPipelineRun(ctx context.Context, pr *v1.PipelineRun, outcomes Outcomes) (*v1.PipelineRun, error) {
	created, err := c.Tekton.TektonV1().PipelineRuns(pr.Namespace).Create(ctx, pr, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("error creating PipelineRun %s/%s: %w", pr.Namespace, pr.Name+pr.GenerateName, err)
	}
	return c.DrivePipelineRun(ctx, created.Namespace, created.Name, outcomes)
}

// DrivePipelineRun plays kubelet for an existing PipelineRun (made by a test, tkn, a trigger or a schedule):
// each child TaskRun's Pod, once Tekton creates it, is completed with its pipeline task's outcome, until the
// PipelineRun is done. Tekton's controller alone decides which tasks run, which `when` expressions skip a task,
// and when finally tasks run. ctx bounds the whole run; on timeout the error tells which TaskRuns were open.
func (c *Cluster) DrivePipelineRun(ctx context.Context, ns, name string, outcomes Outcomes) (*v1.PipelineRun, error) {
	completed := map[string]bool{}
	var last *v1.PipelineRun
	var pending []string
	err := wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		pr, err := c.Tekton.TektonV1().PipelineRuns(ns).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		last = pr
		if pr.IsDone() {
			return true, nil
		}
		trs, err := c.Tekton.TektonV1().TaskRuns(ns).List(ctx, metav1.ListOptions{
			LabelSelector: labels.SelectorFromSet(labels.Set{pipeline.PipelineRunLabelKey: name}).String(),
		})
		if err != nil {
			return false, err
		}
		pending = pending[:0]
		for i := range trs.Items {
			tr := &trs.Items[i]
			if tr.IsDone() {
				continue
			}
			pod := tr.Status.PodName
			if pod == "" {
				pending = append(pending, tr.Name+" (no Pod yet)")
				continue
			}
			if completed[pod] {
				pending = append(pending, tr.Name+" (Pod completed, waiting for Tekton)")
				continue
			}
			err := c.CompletePod(ctx, ns, pod, outcomes[pipelineTaskOf(tr.Labels)])
			if err != nil && !errors.Is(err, ErrPodCompleted) {
				return false, err
			}
			completed[pod] = true
		}
		return false, nil
	})
	if err != nil {
		state := "never seen"
		if last != nil {
			state = conditionString(last.Status.GetCondition(apis.ConditionSucceeded))
		}
		return last, fmt.Errorf("PipelineRun %s/%s did not finish (%s; open TaskRuns: %v): %w", ns, name, state, pending, err)
	}
	return last, nil
}

// PipelineRunCondition is a condition WaitForPipelineRun waits for: done reports it holds, an error that it
// never will.
type PipelineRunCondition func(pr *v1.PipelineRun) (done bool, err error)

// WaitForPipelineRun polls a PipelineRun until cond holds (or fails, or ctx ends) and returns it.
func (c *Cluster) WaitForPipelineRun(ctx context.Context, ns, name string, cond PipelineRunCondition) (*v1.PipelineRun, error) {
	var last *v1.PipelineRun
	err := wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		pr, err := c.Tekton.TektonV1().PipelineRuns(ns).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		last = pr
		return cond(pr)
	})
	if err != nil {
		state := "never seen"
		if last != nil {
			state = conditionString(last.Status.GetCondition(apis.ConditionSucceeded))
		}
		return last, fmt.Errorf("waiting for PipelineRun %s/%s (%s): %w", ns, name, state, err)
	}
	return last, nil
}

// PipelineRunDone holds once the PipelineRun has finished, whichever way.
func PipelineRunDone(pr *v1.PipelineRun) (bool, error) { return pr.IsDone(), nil }

// PipelineRunSucceeded holds once the PipelineRun has succeeded, and fails if it fails.
func PipelineRunSucceeded(pr *v1.PipelineRun) (bool, error) {
	cond := pr.Status.GetCondition(apis.ConditionSucceeded)
	switch {
	case cond == nil:
		return false, nil
	case cond.IsFalse():
		return false, fmt.Errorf("PipelineRun failed: %s", conditionString(cond))
	}
	return cond.IsTrue(), nil
}

// PipelineRunFailed holds once the PipelineRun has failed, and fails if it succeeds.
func PipelineRunFailed(pr *v1.PipelineRun) (bool, error) {
	cond := pr.Status.GetCondition(apis.ConditionSucceeded)
	switch {
	case cond == nil:
		return false, nil
	case cond.IsTrue():
		return false, fmt.Errorf("PipelineRun succeeded: %s", conditionString(cond))
	}
	return cond.IsFalse(), nil
}

// PipelineRunReason holds once the PipelineRun's Succeeded condition has the reason (for example "Running",
// "Succeeded", "Completed", "Failed", "PipelineRunTimeout").
func PipelineRunReason(reason string) PipelineRunCondition {
	return func(pr *v1.PipelineRun) (bool, error) {
		cond := pr.Status.GetCondition(apis.ConditionSucceeded)
		return cond != nil && cond.Reason == reason, nil
	}
}

// ChildTaskRuns lists the PipelineRun's TaskRuns by pipeline task name (for a retried task, the TaskRun holds
// every attempt in status.retriesStatus).
func (c *Cluster) ChildTaskRuns(ctx context.Context, ns, pipelineRunName string) (map[string]*v1.TaskRun, error) {
	trs, err := c.Tekton.TektonV1().TaskRuns(ns).List(ctx, metav1.ListOptions{
		LabelSelector: labels.SelectorFromSet(labels.Set{pipeline.PipelineRunLabelKey: pipelineRunName}).String(),
	})
	if err != nil {
		return nil, fmt.Errorf("error listing the TaskRuns of PipelineRun %s/%s: %w", ns, pipelineRunName, err)
	}
	byTask := make(map[string]*v1.TaskRun, len(trs.Items))
	for i := range trs.Items {
		byTask[pipelineTaskOf(trs.Items[i].Labels)] = &trs.Items[i]
	}
	return byTask, nil
}

// RanTasks lists (sorted) the pipeline tasks Tekton created a TaskRun or CustomRun for, from the PipelineRun's
// status.childReferences.
func RanTasks(pr *v1.PipelineRun) []string {
	var names []string
	for _, ref := range pr.Status.ChildReferences {
		names = append(names, ref.PipelineTaskName)
	}
	sort.Strings(names)
	return names
}

// SkippedTasks lists (sorted) the pipeline tasks Tekton skipped, from the PipelineRun's status.skippedTasks.
func SkippedTasks(pr *v1.PipelineRun) []string {
	var names []string
	for _, s := range pr.Status.SkippedTasks {
		names = append(names, s.Name)
	}
	sort.Strings(names)
	return names
}

func conditionString(cond *apis.Condition) string {
	if cond == nil {
		return "no Succeeded condition yet"
	}
	return fmt.Sprintf("Succeeded=%s %s: %s", cond.Status, cond.Reason, cond.Message)
}

// RunKubelet plays kubelet for the whole cluster until ctx ends: every TaskRun Pod, in every namespace, is
// completed as soon as Tekton creates it, with the outcome of its pipeline task (or, outside a Pipeline, of the
// TaskRun's name). With standIn, every result the Task declares that the outcome does not give is reported with
// StandInResult's value, so that a pipeline wired by results runs to its end; without, such results are
// missing. It is meant for hands-on use (hack/dev-cluster.sh); tests use DrivePipelineRun, which follows one
// PipelineRun. report, if not nil, hears about each Pod completed.
func (c *Cluster) RunKubelet(ctx context.Context, outcomes Outcomes, standIn bool, report func(tr *v1.TaskRun, o TaskOutcome)) error {
	completed := map[string]bool{}
	err := wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		trs, err := c.Tekton.TektonV1().TaskRuns(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
		if err != nil {
			c.logf("stand-in kubelet: error listing TaskRuns: %v", err)
			return false, nil
		}
		for i := range trs.Items {
			tr := &trs.Items[i]
			key := tr.Namespace + "/" + tr.Status.PodName
			if tr.IsDone() || tr.Status.PodName == "" || completed[key] {
				continue
			}
			name := pipelineTaskOf(tr.Labels)
			if name == "" {
				name = tr.Name
			}
			o := outcomes[name]
			if standIn && tr.Status.TaskSpec != nil {
				results := map[string]string{}
				for _, r := range tr.Status.TaskSpec.Results {
					results[r.Name] = StandInResult(name, r)
				}
				for k, v := range o.Results {
					results[k] = v
				}
				o.Results = results
			}
			if err := c.CompletePod(ctx, tr.Namespace, tr.Status.PodName, o); err != nil && !errors.Is(err, ErrPodCompleted) {
				c.logf("stand-in kubelet: %v", err)
				continue
			}
			completed[key] = true
			if report != nil {
				report(tr, o)
			}
		}
		return false, nil
	})
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// StandInResult is the value RunKubelet reports for a declared result no outcome gives: "true" for a result
// named passed (a gate that passes), "1" for one named accuracy or ending in rows, an empty array or object for
// array and object results, else "stand-in:<task>.<result>".
func StandInResult(task string, r v1.TaskResult) string {
	switch {
	case r.Type == v1.ResultsTypeArray:
		return "[]"
	case r.Type == v1.ResultsTypeObject:
		return "{}"
	case r.Name == "passed":
		return "true"
	case r.Name == "accuracy" || strings.HasSuffix(r.Name, "rows"):
		return "1"
	}
	return "stand-in:" + task + "." + r.Name
}
