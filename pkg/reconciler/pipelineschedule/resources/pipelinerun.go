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

// Package resources builds the PipelineRuns a PipelineSchedule starts.
package resources

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/mlpipe/mlpipe/pkg/apis/mlpipe/v1alpha1"
	"github.com/mlpipe/mlpipe/pkg/policy"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/kmeta"
)

const (
	// ScheduleLabel names the PipelineSchedule that started a run.
	ScheduleLabel = "mlpipe.dev/schedule"
	// TriggerLabel says how a run was started: schedule, s3 or manual.
	TriggerLabel = "mlpipe.dev/trigger"
	// ScheduledTimeAnnotation is the slot (RFC 3339, UTC) a run was started for.
	ScheduledTimeAnnotation = "mlpipe.dev/scheduled-time"
	// ManagedByLabel marks the objects mlpipe manages.
	ManagedByLabel = "app.kubernetes.io/managed-by"
)

// RunName is the name of a slot's run: the schedule's name and the slot's Unix minute, as
// the Kubernetes CronJob controller names Jobs. Two replicas or a restarted controller
// compute the same name, so a slot can only ever have one run. Names stay within 63
// characters: a long schedule name is cut and keeps a hash of the full name.
//
// While it fits this is kmeta.ChildName(schedule, "-"+minute), as events.NameFor is
// kmeta.ChildName while it fits; the cut forms of the three differ (ChildName appends an
// MD5 of the parent, NameFor no hash of its prefix). RunName keeps its own cut form because
// the name is the slot's lock: renaming the runs of long schedule names would let a slot
// start a second run across a controller upgrade (TestRunNamePinned pins the names).
func RunName(schedule string, slot time.Time) string {
	minute := strconv.FormatInt(slot.Unix()/60, 10)
	const max = 63
	if len(schedule)+1+len(minute) <= max {
		return schedule + "-" + minute
	}
	sum := sha256.Sum256([]byte(schedule))
	h := hex.EncodeToString(sum[:])[:8]
	keep := max - len(minute) - len(h) - 2
	return fmt.Sprintf("%s-%s-%s", schedule[:keep], h, minute)
}

// MakePipelineRun returns the run for slot: the template with the slot's context
// variables substituted into its params, owned by the schedule.
func MakePipelineRun(s *v1alpha1.PipelineSchedule, slot time.Time) *pipelinev1.PipelineRun {
	t := s.Spec.PipelineRunTemplate.DeepCopy()
	labels := map[string]string{}
	for k, v := range t.Metadata.Labels {
		labels[k] = v
	}
	labels[ScheduleLabel] = s.Name
	labels[TriggerLabel] = "schedule"
	labels[ManagedByLabel] = "mlpipe"
	if t.PipelineRef != nil && t.PipelineRef.Name != "" {
		labels[policy.PipelineLabel] = t.PipelineRef.Name
	}
	annotations := map[string]string{}
	for k, v := range t.Metadata.Annotations {
		annotations[k] = v
	}
	annotations[ScheduledTimeAnnotation] = slot.UTC().Format(time.RFC3339)
	replacements := map[string]string{
		"context.scheduledTime":     slot.UTC().Format(time.RFC3339),
		"context.scheduledTimeUnix": strconv.FormatInt(slot.Unix(), 10),
		"context.scheduleName":      s.Name,
	}
	params := make(pipelinev1.Params, len(t.Params))
	for i, p := range t.Params {
		p.Value.ApplyReplacements(replacements, nil, nil)
		params[i] = p
	}
	return &pipelinev1.PipelineRun{
		ObjectMeta: metav1.ObjectMeta{
			Name:            RunName(s.Name, slot),
			Namespace:       s.Namespace,
			Labels:          labels,
			Annotations:     annotations,
			OwnerReferences: []metav1.OwnerReference{*kmeta.NewControllerRef(s)},
		},
		Spec: pipelinev1.PipelineRunSpec{
			PipelineRef:     t.PipelineRef,
			Params:          params,
			Workspaces:      t.Workspaces,
			Timeouts:        t.Timeouts,
			TaskRunTemplate: t.TaskRunTemplate,
		},
	}
}

// ScheduledTime returns the slot a run was started for, from its annotation.
func ScheduledTime(pr *pipelinev1.PipelineRun) (time.Time, bool) {
	v, ok := pr.Annotations[ScheduledTimeAnnotation]
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, v)
	return t, err == nil
}
