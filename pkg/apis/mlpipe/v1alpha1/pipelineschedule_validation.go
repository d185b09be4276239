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
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/mlpipe/mlpipe/pkg/cron"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/validate"
	"k8s.io/apimachinery/pkg/util/validation"
	"knative.dev/pkg/apis"
)

// MaxNameLength is the longest name a PipelineSchedule may have: its runs are named
// <name>-<unix minute>, and the Unix minute has 8 digits until the year 2160, so the run
// names stay within the 63 characters of a Kubernetes label value.
const MaxNameLength = 52

// Validate implements apis.Validatable. It reports every problem, not just the first, each
// with the path of its field. The admission webhook calls it on create and update, the
// reconciler before every reconcile; the date it checks "fires within 5 years" from comes
// from WithClock. Status updates are not checked: the controller must be able to record
// that a schedule applied before the webhook existed is invalid.
func (s *PipelineSchedule) Validate(ctx context.Context) *apis.FieldError {
	if apis.IsInStatusUpdate(ctx) {
		return nil
	}
	errs := validate.ObjectMetadata(s.GetObjectMeta()).ViaField("metadata")
	if n := len(s.Name); n > MaxNameLength {
		errs = errs.Also(&apis.FieldError{
			Message: fmt.Sprintf("name is %d characters long, at most %d are allowed: run names are <name>-<unix minute> and must fit in 63", n, MaxNameLength),
			Paths:   []string{"metadata.name"},
		})
	}
	return errs.Also(s.Spec.Validate(apis.WithinSpec(ctx)).ViaField("spec"))
}

// Validate checks the schedules, the time zone, the policies and the run template.
func (s *PipelineScheduleSpec) Validate(ctx context.Context) (errs *apis.FieldError) {
	errs = errs.Also(s.validateSchedules(clockFrom(ctx).Now()))

	switch s.ConcurrencyPolicy {
	case "", AllowConcurrent, ForbidConcurrent, ReplaceConcurrent:
	default:
		errs = errs.Also(apis.ErrInvalidValue(
			fmt.Sprintf("%s: use %s, %s or %s", s.ConcurrencyPolicy, AllowConcurrent, ForbidConcurrent, ReplaceConcurrent),
			"concurrencyPolicy"))
	}
	if v := s.StartingDeadlineSeconds; v != nil && *v < 0 {
		errs = errs.Also(apis.ErrInvalidValue(fmt.Sprintf("%d: must be 0 or more", *v), "startingDeadlineSeconds"))
	}
	if v := s.SuccessfulRunsHistoryLimit; v != nil && *v < 0 {
		errs = errs.Also(apis.ErrInvalidValue(fmt.Sprintf("%d: must be 0 or more", *v), "successfulRunsHistoryLimit"))
	}
	if v := s.FailedRunsHistoryLimit; v != nil && *v < 0 {
		errs = errs.Also(apis.ErrInvalidValue(fmt.Sprintf("%d: must be 0 or more", *v), "failedRunsHistoryLimit"))
	}
	return errs.Also(s.PipelineRunTemplate.Validate(ctx).ViaField("pipelineRunTemplate"))
}

// validateSchedules parses every expression on its own, so each error names its field; now is
// the date a schedule must fire within 5 years of.
func (s *PipelineScheduleSpec) validateSchedules(now time.Time) (errs *apis.FieldError) {
	if s.Schedule == "" && len(s.Schedules) == 0 {
		errs = &apis.FieldError{
			Message: "expected at least one, got neither",
			Paths:   []string{"schedule", "schedules"},
		}
	}
	tz := s.TimeZone
	if _, err := cron.Parse([]string{"@daily"}, tz, now); err != nil {
		errs = errs.Also(apis.ErrInvalidValue(err.Error(), "timeZone"))
		// The zone is reported once; read the expressions in UTC to report their own errors.
		tz = DefaultTimeZone
	}
	if s.Schedule != "" {
		if _, err := cron.Parse([]string{s.Schedule}, tz, now); err != nil {
			errs = errs.Also(apis.ErrInvalidValue(err.Error(), "schedule"))
		}
	}
	for i, expr := range s.Schedules {
		if strings.TrimSpace(expr) == "" {
			errs = errs.Also(apis.ErrMissingField(apis.CurrentField).ViaFieldIndex("schedules", i))
			continue
		}
		if _, err := cron.Parse([]string{expr}, tz, now); err != nil {
			errs = errs.Also(apis.ErrInvalidValue(err.Error(), apis.CurrentField).ViaFieldIndex("schedules", i))
		}
	}
	return errs
}

// Validate checks the run template: a named pipelineRef, and everything else the way Tekton
// validates a PipelineRun's spec, so a schedule that passes never starts a run the API server
// rejects for its spec.
func (t *PipelineRunTemplate) Validate(ctx context.Context) (errs *apis.FieldError) {
	errs = errs.Also(t.Metadata.Validate().ViaField("metadata"))

	ref := t.PipelineRef
	switch {
	case ref == nil:
		errs = errs.Also(apis.ErrMissingField("pipelineRef"))
		// Reported above: give Tekton a stand-in, so it checks the rest without also asking
		// for a pipelineSpec, which a template does not have.
		ref = &pipelinev1.PipelineRef{Name: "pipeline"}
	case ref.Name == "":
		// The controller applies the concurrency policy over the runs of the named Pipeline.
		errs = errs.Also(apis.ErrMissingField("pipelineRef.name"))
	}
	for i, p := range t.Params {
		if p.Name == "" {
			errs = errs.Also(apis.ErrMissingField("name").ViaFieldIndex("params", i))
		}
	}
	run := pipelinev1.PipelineRunSpec{
		PipelineRef:     ref,
		Params:          t.Params,
		Workspaces:      t.Workspaces,
		Timeouts:        t.Timeouts,
		TaskRunTemplate: t.TaskRunTemplate,
	}
	return errs.Also(run.Validate(ctx))
}

// Validate checks that the labels and annotations are valid on a PipelineRun.
func (m *TemplateMetadata) Validate() (errs *apis.FieldError) {
	for k, v := range m.Labels {
		for _, msg := range validation.IsQualifiedName(k) {
			errs = errs.Also(apis.ErrInvalidKeyName(k, "labels", msg))
		}
		for _, msg := range validation.IsValidLabelValue(v) {
			errs = errs.Also(apis.ErrInvalidValue(fmt.Sprintf("%q: %s", v, msg), apis.CurrentField).ViaFieldKey("labels", k))
		}
	}
	for k := range m.Annotations {
		for _, msg := range validation.IsQualifiedName(strings.ToLower(k)) {
			errs = errs.Also(apis.ErrInvalidKeyName(k, "annotations", msg))
		}
	}
	return errs
}
