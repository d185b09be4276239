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

// Package policy holds the concurrency policy shared by every way a pipeline starts
// (schedule, S3 notification, manual): Allow, Forbid or Replace, decided over the
// PipelineRuns of the same Pipeline that are still running.
package policy

import (
	"fmt"
	"sort"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// Policy says what a new start does while a run of the same pipeline is active.
type Policy string

const (
	// Allow starts regardless of active runs.
	Allow Policy = "Allow"
	// Forbid skips the new start while a run is active; the skipped start is not made later. Decide sees only the
	// runs its caller passes: a caller that reads an informer's cache must add the runs it started that the cache
	// does not show yet, or two starts inside the watch's lag both go on (pkg/events/engine does, within one
	// process; the lag remains between processes).
	Forbid Policy = "Forbid"
	// Replace cancels the active runs with Tekton's spec.status CancelledRunFinally (their running tasks
	// stop, their finally tasks still run; see Cancel) and starts the new one.
	Replace Policy = "Replace"
)

// Parse returns the policy named s; empty means Allow.
func Parse(s string) (Policy, error) {
	switch Policy(s) {
	case "":
		return Allow, nil
	case Allow, Forbid, Replace:
		return Policy(s), nil
	}
	return "", fmt.Errorf("unknown concurrency policy %q: use Allow, Forbid or Replace", s)
}

// PipelineLabel is the label Tekton's controller puts on every PipelineRun of a Pipeline;
// runs started by tkn, a schedule or a trigger all carry it, so the policy spans them all.
const PipelineLabel = "tekton.dev/pipeline"

// Selector selects the runs of pipeline.
func Selector(pipeline string) labels.Selector {
	return labels.SelectorFromSet(labels.Set{PipelineLabel: pipeline})
}

// RunsOf returns the runs that belong to pipeline: by Tekton's label or, for runs the
// controller has not labelled yet, by their pipelineRef.
func RunsOf(pipeline string, runs []*v1.PipelineRun) []*v1.PipelineRun {
	var out []*v1.PipelineRun
	for _, r := range runs {
		if r.Labels[PipelineLabel] == pipeline || (r.Spec.PipelineRef != nil && r.Spec.PipelineRef.Name == pipeline) {
			out = append(out, r)
		}
	}
	return out
}

// Active returns the runs that have not finished and are not being cancelled, oldest first.
func Active(runs []*v1.PipelineRun) []*v1.PipelineRun {
	var out []*v1.PipelineRun
	for _, r := range runs {
		if r.IsDone() || r.IsCancelled() || r.DeletionTimestamp != nil {
			continue
		}
		if r.Spec.Status == v1.PipelineRunSpecStatusCancelled || r.Spec.Status == v1.PipelineRunSpecStatusCancelledRunFinally {
			continue
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].CreationTimestamp, out[j].CreationTimestamp
		if !a.Equal(&b) {
			return a.Before(&b)
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// Action is what the caller does for one start.
type Action int

const (
	// Start creates the new run.
	Start Action = iota
	// Skip does not create it (Forbid with an active run).
	Skip
	// CancelThenStart cancels Decision.Cancel, then creates the new run (Replace).
	CancelThenStart
)

// String implements fmt.Stringer.
func (a Action) String() string {
	return [...]string{"Start", "Skip", "CancelThenStart"}[a]
}

// Decision is the outcome of Decide.
type Decision struct {
	Action Action
	// Cancel are the runs to cancel before starting (Replace).
	Cancel []*v1.PipelineRun
	// Reason explains a Skip or CancelThenStart for events and logs.
	Reason string
}

// Decide applies p to the active runs of the pipeline. self, when not empty, is the name
// of the run about to be created: a run of that name is the same start delivered twice,
// never a reason to skip or cancel.
func Decide(p Policy, active []*v1.PipelineRun, self string) Decision {
	var others []*v1.PipelineRun
	for _, r := range active {
		if r.Name != self {
			others = append(others, r)
		}
	}
	if len(others) == 0 || p == Allow || p == "" {
		return Decision{Action: Start}
	}
	names := make([]string, len(others))
	for i, r := range others {
		names[i] = r.Name
	}
	if p == Forbid {
		return Decision{Action: Skip, Reason: fmt.Sprintf("concurrencyPolicy Forbid: %d run(s) still active (%s)", len(others), joinMax(names, 3))}
	}
	return Decision{Action: CancelThenStart, Cancel: others, Reason: fmt.Sprintf("concurrencyPolicy Replace: cancelling %s", joinMax(names, 3))}
}

func joinMax(names []string, n int) string {
	if len(names) <= n {
		return fmt.Sprint(names)
	}
	return fmt.Sprintf("%v and %d more", names[:n], len(names)-n)
}
