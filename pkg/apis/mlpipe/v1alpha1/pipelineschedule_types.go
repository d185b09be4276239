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

package v1alpha1

import (
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
	"knative.dev/pkg/kmeta"
)

// PipelineSchedule starts a PipelineRun on every slot of its cron schedules, exactly once
// per slot: each run is named after its schedule and slot time.
//
// +genclient
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
type PipelineSchedule struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   PipelineScheduleSpec   `json:"spec"`
	Status PipelineScheduleStatus `json:"status,omitempty"`
}

var (
	_ apis.Validatable   = (*PipelineSchedule)(nil)
	_ apis.Defaultable   = (*PipelineSchedule)(nil)
	_ kmeta.OwnerRefable = (*PipelineSchedule)(nil)
)

// ConcurrencyPolicy says what a slot does while a run of the same Pipeline is active.
type ConcurrencyPolicy string

const (
	// AllowConcurrent starts the slot's run regardless.
	AllowConcurrent ConcurrencyPolicy = "Allow"
	// ForbidConcurrent skips the slot while a run is active.
	ForbidConcurrent ConcurrencyPolicy = "Forbid"
	// ReplaceConcurrent cancels the active runs with Tekton's CancelledRunFinally (their finally tasks, the
	// alert, still run; see policy.Cancel) and starts the slot's run.
	ReplaceConcurrent ConcurrencyPolicy = "Replace"
)

// PipelineScheduleSpec is the desired schedule.
type PipelineScheduleSpec struct {
	// Schedule is a standard 5-field cron expression or an @-macro (@hourly, @daily, @weekly,
	// @monthly, @yearly), or "@every <duration>" (whole minutes): elapsed time, with slots at the
	// multiples of the duration since the Unix epoch, unmoved by time zone and DST.
	// +optional
	Schedule string `json:"schedule,omitempty"`
	// Schedules are more cron expressions; a slot of any of them starts a run.
	// +optional
	Schedules []string `json:"schedules,omitempty"`
	// TimeZone is the IANA zone the schedules are read in (default UTC).
	// +optional
	TimeZone string `json:"timeZone,omitempty"`
	// Suspend stops new runs; history is kept and missed slots are not caught up on resume.
	// +optional
	Suspend bool `json:"suspend,omitempty"`
	// ConcurrencyPolicy is Allow, Forbid (default) or Replace, over every run of the Pipeline.
	// +optional
	ConcurrencyPolicy ConcurrencyPolicy `json:"concurrencyPolicy,omitempty"`
	// StartingDeadlineSeconds: a slot not started within this many seconds is skipped.
	// Unset: the latest missed slot is always caught up (once).
	// +optional
	StartingDeadlineSeconds *int64 `json:"startingDeadlineSeconds,omitempty"`
	// SuccessfulRunsHistoryLimit is how many succeeded runs to keep (default 3).
	// +optional
	SuccessfulRunsHistoryLimit *int32 `json:"successfulRunsHistoryLimit,omitempty"`
	// FailedRunsHistoryLimit is how many failed runs to keep (default 1).
	// +optional
	FailedRunsHistoryLimit *int32 `json:"failedRunsHistoryLimit,omitempty"`
	// PipelineRunTemplate is the run to start; params may use $(context.scheduledTime)
	// (RFC 3339, UTC), $(context.scheduledTimeUnix) and $(context.scheduleName).
	PipelineRunTemplate PipelineRunTemplate `json:"pipelineRunTemplate"`
}

// PipelineRunTemplate is the part of a PipelineRun a schedule fills in.
type PipelineRunTemplate struct {
	// Metadata adds labels and annotations to every run.
	// +optional
	Metadata TemplateMetadata `json:"metadata,omitempty"`
	// PipelineRef names the Pipeline to run.
	PipelineRef *pipelinev1.PipelineRef `json:"pipelineRef"`
	// Params are passed to the run.
	// +optional
	Params pipelinev1.Params `json:"params,omitempty"`
	// Workspaces bind the Pipeline's workspaces.
	// +optional
	Workspaces []pipelinev1.WorkspaceBinding `json:"workspaces,omitempty"`
	// Timeouts bound the run.
	// +optional
	Timeouts *pipelinev1.TimeoutFields `json:"timeouts,omitempty"`
	// TaskRunTemplate sets the service account and pod template of the run's TaskRuns.
	// +optional
	TaskRunTemplate pipelinev1.PipelineTaskRunTemplate `json:"taskRunTemplate,omitempty"`
}

// TemplateMetadata are labels and annotations copied to every run.
type TemplateMetadata struct {
	// +optional
	Labels map[string]string `json:"labels,omitempty"`
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
}

// PipelineScheduleStatus is what the controller observed and did.
type PipelineScheduleStatus struct {
	duckv1.Status `json:",inline"`
	// LastScheduleTime is the slot of the newest run this schedule started.
	// +optional
	LastScheduleTime *metav1.Time `json:"lastScheduleTime,omitempty"`
	// LastSuccessfulTime is when the newest succeeded run finished.
	// +optional
	LastSuccessfulTime *metav1.Time `json:"lastSuccessfulTime,omitempty"`
	// NextScheduleTime is the next slot.
	// +optional
	NextScheduleTime *metav1.Time `json:"nextScheduleTime,omitempty"`
	// Active are this schedule's runs that have not finished.
	// +optional
	Active []corev1.ObjectReference `json:"active,omitempty"`
	// WindowStart: slots at or before it are never started; it moves to "now" when the spec
	// changes or the schedule is suspended, so an edit or a resume never fires by itself.
	// +optional
	WindowStart *metav1.Time `json:"windowStart,omitempty"`
}

// PipelineScheduleList is a list of PipelineSchedules.
//
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
type PipelineScheduleList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []PipelineSchedule `json:"items"`
}

// GetGroupVersionKind implements kmeta.OwnerRefable.
func (*PipelineSchedule) GetGroupVersionKind() schema.GroupVersionKind {
	return SchemeGroupVersion.WithKind("PipelineSchedule")
}
