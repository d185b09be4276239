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

// Package resume makes the PipelineRun that resumes a finished, unsuccessful one: the same Pipeline, params,
// workspaces and run settings under a new name, labelled with the run it resumes. The tasks of the new run
// whose inputs did not change hit the cluster cache, so only the failed task and what follows it run again.
package resume

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/tektoncd/pipeline/pkg/apis/pipeline"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	versioned "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"knative.dev/pkg/apis"
	"knative.dev/pkg/kmeta"

	"github.com/mlpipe/mlpipe/pkg/cache"
	"github.com/mlpipe/mlpipe/pkg/receiver"
	"github.com/mlpipe/mlpipe/pkg/reconciler/pipelineschedule/resources"
)

// ResumesLabel links a resumed run to the run it resumes (its value is that run's name).
const ResumesLabel = "mlpipe.dev/resumes"

// maxAttempts bounds how many names Create tries when concurrent resumes of one run race for a name.
const maxAttempts = 20

// Name is the name of the n-th resume (n >= 1) of the run named orig: <orig>-resume-<n>, kept within 63
// characters as kmeta.ChildName keeps it.
func Name(orig string, n int) string {
	return kmeta.ChildName(orig, "-resume-"+strconv.Itoa(n))
}

// Check says why a run cannot be resumed: it is still pending or running, or it succeeded.
func Check(pr *v1.PipelineRun) error {
	cond := pr.Status.GetCondition(apis.ConditionSucceeded)
	switch {
	case pr.IsPending():
		return fmt.Errorf("PipelineRun %s is pending (spec.status: %s): it has not run yet, so there is nothing to resume", pr.Name, pr.Spec.Status)
	case cond == nil || cond.IsUnknown():
		state := "it has not started yet"
		if cond != nil {
			state = fmt.Sprintf("Succeeded=Unknown, reason %s", cond.Reason)
		}
		return fmt.Errorf("PipelineRun %s is still running (%s): wait until it ends, or cancel it "+
			"(tkn pipelinerun cancel %s -n %s), then resume it", pr.Name, state, pr.Name, pr.Namespace)
	case cond.IsTrue():
		return fmt.Errorf("PipelineRun %s succeeded (%s): there is nothing to resume; start a new run instead", pr.Name, cond.Reason)
	}
	return nil
}

// identityLabels and identityAnnotations are what makes a scheduled or S3-started run the one run of its slot
// or object, and what Tekton writes itself: a resume does not carry them (it is a new run, linked by
// ResumesLabel), so neither the schedule controller nor the S3 paths take it for theirs.
var (
	identityLabels      = []string{resources.ScheduleLabel, resources.TriggerLabel}
	identityAnnotations = []string{resources.ScheduledTimeAnnotation, receiver.DedupKeyAnnotation,
		"kubectl.kubernetes.io/last-applied-configuration"}
)

// Make returns the n-th resume of orig: the same pipelineRef or pipelineSpec, params, workspaces (a
// volumeClaimTemplate stays a template: Tekton makes a new claim for the new run), timeouts and TaskRun
// settings; orig's labels and annotations less the run-identity ones, Tekton's own, and those Tekton copied
// from the Pipeline (inherited, nil when unknown: a key with the Pipeline's value), so that the resume gets
// the Pipeline's current ones from Tekton; ResumesLabel = orig.
func Make(orig *v1.PipelineRun, inherited *metav1.ObjectMeta, n int) *v1.PipelineRun {
	if inherited == nil {
		inherited = &metav1.ObjectMeta{}
	}
	keep := func(k, v string, identity []string, fromPipeline map[string]string) bool {
		if strings.HasPrefix(k, pipeline.GroupName+"/") || contains(identity, k) {
			return false
		}
		pv, ok := fromPipeline[k]
		return !ok || pv != v
	}
	lbls := map[string]string{}
	for k, v := range orig.Labels {
		if keep(k, v, identityLabels, inherited.Labels) {
			lbls[k] = v
		}
	}
	lbls[ResumesLabel] = orig.Name
	anns := map[string]string{}
	for k, v := range orig.Annotations {
		if keep(k, v, identityAnnotations, inherited.Annotations) {
			anns[k] = v
		}
	}
	spec := orig.Spec.DeepCopy()
	spec.Status = "" // a cancelled run's "Cancelled" would cancel the resume too
	return &v1.PipelineRun{
		TypeMeta: metav1.TypeMeta{APIVersion: v1.SchemeGroupVersion.String(), Kind: pipeline.PipelineRunControllerName},
		ObjectMeta: metav1.ObjectMeta{
			Name:        Name(orig.Name, n),
			Namespace:   orig.Namespace,
			Labels:      lbls,
			Annotations: anns,
		},
		Spec: *spec,
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Workspaces says, per workspace of the run, what the resume gets: a new claim, the same claim, a new emptyDir.
func Workspaces(pr *v1.PipelineRun) []string {
	var out []string
	for _, ws := range pr.Spec.Workspaces {
		var what string
		switch {
		case ws.VolumeClaimTemplate != nil:
			what = "a new claim from the same volumeClaimTemplate (Tekton creates it for the new run; the failed run's claim is not reused)"
		case ws.PersistentVolumeClaim != nil:
			what = fmt.Sprintf("the same claim %s, with whatever the failed run left in it: a task that hits the cache "+
				"restores its outputs over those files, one that misses writes them anew", ws.PersistentVolumeClaim.ClaimName)
		case ws.EmptyDir != nil:
			what = "a new, empty emptyDir"
		case ws.ConfigMap != nil:
			what = "ConfigMap " + ws.ConfigMap.Name + " as it is now"
		case ws.Secret != nil:
			what = "Secret " + ws.Secret.SecretName + " as it is now"
		case ws.Projected != nil:
			what = "the same projected volume, as its sources are now"
		case ws.CSI != nil:
			what = "the same CSI volume (driver " + ws.CSI.Driver + ")"
		default:
			what = "the same binding"
		}
		out = append(out, fmt.Sprintf("workspace %s: %s", ws.Name, what))
	}
	return out
}

// Task is what one pipeline task of a finished run left.
type Task struct {
	// Name is the pipeline task name.
	Name string
	// Succeeded and Failed come from the TaskRun's Succeeded condition; Reason is its reason.
	Succeeded, Failed bool
	Reason            string
	// Cache is the TaskRun's cache result (cache.ResultCache): hit, miss, off, or empty when the task reports
	// none.
	Cache string
}

// Cached reports whether a succeeded task left an entry a resume can hit: it looked the cache up (hit or
// miss; a miss that succeeds stores its outputs).
func (t Task) Cached() bool { return t.Succeeded && (t.Cache == cache.Hit || t.Cache == cache.Miss) }

// Tasks lists the pipeline tasks of a run that have a TaskRun, sorted by name.
func Tasks(ctx context.Context, tc versioned.Interface, pr *v1.PipelineRun) ([]Task, error) {
	trs, err := tc.TektonV1().TaskRuns(pr.Namespace).List(ctx, metav1.ListOptions{
		LabelSelector: labels.SelectorFromSet(labels.Set{pipeline.PipelineRunLabelKey: pr.Name}).String(),
	})
	if err != nil {
		return nil, fmt.Errorf("error listing the TaskRuns of PipelineRun %s: %w", pr.Name, err)
	}
	var tasks []Task
	for _, tr := range trs.Items {
		t := Task{Name: tr.Labels[pipeline.PipelineTaskLabelKey]}
		if c := tr.Status.GetCondition(apis.ConditionSucceeded); c != nil {
			t.Succeeded, t.Failed, t.Reason = c.IsTrue(), c.IsFalse(), c.Reason
		}
		for _, r := range tr.Status.Results {
			if r.Name == cache.ResultCache {
				t.Cache = r.Value.StringVal
			}
		}
		tasks = append(tasks, t)
	}
	sort.Slice(tasks, func(i, j int) bool { return tasks[i].Name < tasks[j].Name })
	return tasks, nil
}

// Uncached says why a resume of a run with these tasks would redo all of them: some tasks succeeded, and
// none of them used the cache. Empty when at least one succeeded task can be hit, or when none succeeded
// (then a resume is a plain rerun, as it would be with the cache).
func Uncached(tasks []Task) string {
	var succeeded []string
	for _, t := range tasks {
		if t.Cached() {
			return ""
		}
		if t.Succeeded {
			what := cache.ResultCache + "=" + t.Cache
			if t.Cache == "" {
				what = "no " + cache.ResultCache + " result"
			}
			succeeded = append(succeeded, t.Name+": "+what)
		}
	}
	if len(succeeded) == 0 {
		return ""
	}
	return "no task that finished used the cache (" + strings.Join(succeeded, ", ") + ")"
}

// PipelineMeta returns the metadata of the Pipeline a run names in its namespace (pipelineRef.name, no
// resolver), or nil when the run embeds its spec, uses a resolver, or the Pipeline is gone.
func PipelineMeta(ctx context.Context, tc versioned.Interface, pr *v1.PipelineRun) *metav1.ObjectMeta {
	ref := pr.Spec.PipelineRef
	if ref == nil || ref.Name == "" || ref.Resolver != "" {
		return nil
	}
	p, err := tc.TektonV1().Pipelines(pr.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	if err != nil {
		return nil
	}
	return &p.ObjectMeta
}

// Create creates the next resume of orig: <orig>-resume-<n>, where n is one more than the resumes that exist,
// and the next n when a concurrent resume took that name. inherited is as for Make.
func Create(ctx context.Context, tc versioned.Interface, orig *v1.PipelineRun, inherited *metav1.ObjectMeta) (*v1.PipelineRun, error) {
	prs := tc.TektonV1().PipelineRuns(orig.Namespace)
	existing, err := prs.List(ctx, metav1.ListOptions{
		LabelSelector: labels.SelectorFromSet(labels.Set{ResumesLabel: orig.Name}).String(),
	})
	if err != nil {
		return nil, fmt.Errorf("error listing the resumes of PipelineRun %s: %w", orig.Name, err)
	}
	n := len(existing.Items) + 1
	for attempt := 0; attempt < maxAttempts; attempt, n = attempt+1, n+1 {
		created, err := prs.Create(ctx, Make(orig, inherited, n), metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("error creating PipelineRun %s: %w", Name(orig.Name, n), err)
		}
		return created, nil
	}
	return nil, fmt.Errorf("PipelineRuns %s to %s all exist: not creating another resume of %s", Name(orig.Name, n-maxAttempts), Name(orig.Name, n-1), orig.Name)
}
