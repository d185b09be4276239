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
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
	"knative.dev/pkg/apis"
)

func ptr[T any](v T) *T { return &v }

var corev1EmptyDir = corev1.EmptyDirVolumeSource{}

// schedule returns a valid PipelineSchedule, changed by mutate.
func schedule(mutate func(*PipelineSchedule)) *PipelineSchedule {
	s := &PipelineSchedule{
		ObjectMeta: metav1.ObjectMeta{Name: "nightly", Namespace: "ml"},
		Spec: PipelineScheduleSpec{
			Schedule: "0 2 * * *",
			PipelineRunTemplate: PipelineRunTemplate{
				PipelineRef: &pipelinev1.PipelineRef{Name: "train"},
			},
		},
	}
	if mutate != nil {
		mutate(s)
	}
	return s
}

func TestPipelineSchedule_Validate_Valid(t *testing.T) {
	tests := []struct {
		name string
		s    *PipelineSchedule
	}{{
		name: "minimal",
		s:    schedule(nil),
	}, {
		name: "defaulted",
		s: schedule(func(s *PipelineSchedule) {
			s.SetDefaults(context.Background())
		}),
	}, {
		name: "schedules only",
		s: schedule(func(s *PipelineSchedule) {
			s.Spec.Schedule = ""
			s.Spec.Schedules = []string{"*/15 * * * *", "@weekly"}
		}),
	}, {
		name: "schedule and schedules, macros, time zone",
		s: schedule(func(s *PipelineSchedule) {
			s.Spec.Schedule = "@daily"
			s.Spec.Schedules = []string{"30 9 * * 1-5", "@monthly"}
			s.Spec.TimeZone = "Europe/Berlin"
		}),
	}, {
		name: "every policy and limit set, zeros allowed",
		s: schedule(func(s *PipelineSchedule) {
			s.Spec.Suspend = true
			s.Spec.ConcurrencyPolicy = ReplaceConcurrent
			s.Spec.StartingDeadlineSeconds = ptr(int64(0))
			s.Spec.SuccessfulRunsHistoryLimit = ptr(int32(0))
			s.Spec.FailedRunsHistoryLimit = ptr(int32(0))
		}),
	}, {
		name: "allow",
		s: schedule(func(s *PipelineSchedule) {
			s.Spec.ConcurrencyPolicy = AllowConcurrent
			s.Spec.StartingDeadlineSeconds = ptr(int64(300))
		}),
	}, {
		name: "name of 52 characters",
		s: schedule(func(s *PipelineSchedule) {
			s.Name = strings.Repeat("a", MaxNameLength)
		}),
	}, {
		name: "full run template with context variables",
		s: schedule(func(s *PipelineSchedule) {
			s.Spec.PipelineRunTemplate = PipelineRunTemplate{
				Metadata: TemplateMetadata{
					Labels:      map[string]string{"team": "ml", "app.kubernetes.io/part-of": "churn"},
					Annotations: map[string]string{"mlpipe.dev/note": "any value: even spaces"},
				},
				PipelineRef: &pipelinev1.PipelineRef{Name: "train"},
				Params: pipelinev1.Params{
					{Name: "as-of", Value: *pipelinev1.NewStructuredValues("$(context.scheduledTime)")},
					{Name: "run", Value: *pipelinev1.NewStructuredValues("$(context.scheduleName)-$(context.scheduledTimeUnix)")},
					{Name: "models", Value: *pipelinev1.NewStructuredValues("a", "b")},
					{Name: "cfg", Value: *pipelinev1.NewObject(map[string]string{"k": "v"})},
				},
				Workspaces: []pipelinev1.WorkspaceBinding{{Name: "data", EmptyDir: &corev1EmptyDir}},
				Timeouts: &pipelinev1.TimeoutFields{
					Pipeline: &metav1.Duration{Duration: 2 * time.Hour},
					Tasks:    &metav1.Duration{Duration: time.Hour},
				},
				TaskRunTemplate: pipelinev1.PipelineTaskRunTemplate{ServiceAccountName: "trainer"},
			}
		}),
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.s.Validate(context.Background()); err != nil {
				t.Errorf("Validate() = %v, want no error", err)
			}
		})
	}
}

func TestPipelineSchedule_Validate_Invalid(t *testing.T) {
	tests := []struct {
		name string
		s    *PipelineSchedule
		want *apis.FieldError
	}{{
		name: "no schedule",
		s: schedule(func(s *PipelineSchedule) {
			s.Spec.Schedule = ""
		}),
		want: &apis.FieldError{
			Message: "expected at least one, got neither",
			Paths:   []string{"spec.schedule", "spec.schedules"},
		},
	}, {
		name: "bad schedule",
		s: schedule(func(s *PipelineSchedule) {
			s.Spec.Schedule = "61 * * * *"
		}),
		want: apis.ErrInvalidValue(`invalid cron expression "61 * * * *": end of range (61) above maximum (59): 61`, "spec.schedule"),
	}, {
		name: "bad entry in schedules names its index",
		s: schedule(func(s *PipelineSchedule) {
			s.Spec.Schedules = []string{"@hourly", "@every 5s", ""}
		}),
		want: apis.ErrInvalidValue(`"@every 5s": the interval must be a whole number of minutes, at least 1m`, "spec.schedules[1]").
			Also(apis.ErrMissingField("spec.schedules[2]")),
	}, {
		name: "schedule that never fires",
		s: schedule(func(s *PipelineSchedule) {
			s.Spec.Schedules = []string{"0 0 30 2 *"}
		}),
		want: apis.ErrInvalidValue(`schedule "0 0 30 2 *" never fires within 5 years`, "spec.schedules[0]"),
	}, {
		name: "time zone in the expression",
		s: schedule(func(s *PipelineSchedule) {
			s.Spec.Schedule = "CRON_TZ=Europe/Berlin 0 2 * * *"
		}),
		want: apis.ErrInvalidValue(`"CRON_TZ=Europe/Berlin 0 2 * * *": set the time zone in timeZone, not in the expression`, "spec.schedule"),
	}, {
		name: "unknown time zone, expressions still checked",
		s: schedule(func(s *PipelineSchedule) {
			s.Spec.TimeZone = "Mars/Olympus_Mons"
			s.Spec.Schedules = []string{"bad"}
		}),
		want: apis.ErrInvalidValue(`unknown time zone "Mars/Olympus_Mons": use an IANA name such as Europe/Berlin`, "spec.timeZone").
			Also(apis.ErrInvalidValue(`invalid cron expression "bad": expected exactly 5 fields, found 1: [bad]`, "spec.schedules[0]")),
	}, {
		name: "machine-local time zone",
		s: schedule(func(s *PipelineSchedule) {
			s.Spec.TimeZone = "Local"
		}),
		want: apis.ErrInvalidValue(`time zone "Local" depends on the machine: use an IANA name such as Europe/Berlin`, "spec.timeZone"),
	}, {
		name: "unknown concurrency policy",
		s: schedule(func(s *PipelineSchedule) {
			s.Spec.ConcurrencyPolicy = "Queue"
		}),
		want: apis.ErrInvalidValue("Queue: use Allow, Forbid or Replace", "spec.concurrencyPolicy"),
	}, {
		name: "negative deadline and limits",
		s: schedule(func(s *PipelineSchedule) {
			s.Spec.StartingDeadlineSeconds = ptr(int64(-1))
			s.Spec.SuccessfulRunsHistoryLimit = ptr(int32(-2))
			s.Spec.FailedRunsHistoryLimit = ptr(int32(-3))
		}),
		want: apis.ErrInvalidValue("-1: must be 0 or more", "spec.startingDeadlineSeconds").
			Also(apis.ErrInvalidValue("-2: must be 0 or more", "spec.successfulRunsHistoryLimit")).
			Also(apis.ErrInvalidValue("-3: must be 0 or more", "spec.failedRunsHistoryLimit")),
	}, {
		name: "no pipelineRef",
		s: schedule(func(s *PipelineSchedule) {
			s.Spec.PipelineRunTemplate.PipelineRef = nil
		}),
		want: apis.ErrMissingField("spec.pipelineRunTemplate.pipelineRef"),
	}, {
		name: "pipelineRef without a name",
		s: schedule(func(s *PipelineSchedule) {
			s.Spec.PipelineRunTemplate.PipelineRef = &pipelinev1.PipelineRef{}
		}),
		want: apis.ErrMissingField("spec.pipelineRunTemplate.pipelineRef.name"),
	}, {
		name: "pipelineRef with a resolver but no name",
		s: schedule(func(s *PipelineSchedule) {
			s.Spec.PipelineRunTemplate.PipelineRef = &pipelinev1.PipelineRef{
				ResolverRef: pipelinev1.ResolverRef{Resolver: "git"},
			}
		}),
		want: apis.ErrMissingField("spec.pipelineRunTemplate.pipelineRef.name"),
	}, {
		name: "pipelineRef with an invalid name",
		s: schedule(func(s *PipelineSchedule) {
			s.Spec.PipelineRunTemplate.PipelineRef = &pipelinev1.PipelineRef{Name: "Not_A_Name!"}
		}),
		want: apis.ErrInvalidValue("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')", "spec.pipelineRunTemplate.pipelineRef.name"),
	}, {
		name: "duplicate and unnamed params",
		s: schedule(func(s *PipelineSchedule) {
			s.Spec.PipelineRunTemplate.Params = pipelinev1.Params{
				{Name: "a", Value: *pipelinev1.NewStructuredValues("1")},
				{Name: "a", Value: *pipelinev1.NewStructuredValues("2")},
				{Value: *pipelinev1.NewStructuredValues("3")},
			}
		}),
		want: apis.ErrMissingField("spec.pipelineRunTemplate.params[2].name").
			Also(apis.ErrMultipleOneOf("spec.pipelineRunTemplate.params[a].name")),
	}, {
		name: "param using a task result",
		s: schedule(func(s *PipelineSchedule) {
			s.Spec.PipelineRunTemplate.Params = pipelinev1.Params{
				{Name: "a", Value: *pipelinev1.NewStructuredValues("$(tasks.train.results.model)")},
			}
		}),
		want: apis.ErrInvalidValue("cannot use result expressions in [tasks.train.results.model] as PipelineRun parameter values", "spec.pipelineRunTemplate.params[a].value"),
	}, {
		name: "duplicate workspace",
		s: schedule(func(s *PipelineSchedule) {
			s.Spec.PipelineRunTemplate.Workspaces = []pipelinev1.WorkspaceBinding{
				{Name: "data", EmptyDir: &corev1EmptyDir},
				{Name: "data", EmptyDir: &corev1EmptyDir},
			}
		}),
		want: apis.ErrGeneric(`workspace "data" provided by pipelinerun more than once, at index 0 and 1`, "spec.pipelineRunTemplate.workspaces[1].name"),
	}, {
		name: "tasks timeout above the pipeline timeout",
		s: schedule(func(s *PipelineSchedule) {
			s.Spec.PipelineRunTemplate.Timeouts = &pipelinev1.TimeoutFields{
				Pipeline: &metav1.Duration{Duration: time.Hour},
				Tasks:    &metav1.Duration{Duration: 2 * time.Hour},
			}
		}),
		want: apis.ErrInvalidValue("2h0m0s should be <= pipeline duration", "spec.pipelineRunTemplate.timeouts.tasks"),
	}, {
		name: "invalid template labels and annotations",
		s: schedule(func(s *PipelineSchedule) {
			s.Spec.PipelineRunTemplate.Metadata = TemplateMetadata{
				Labels:      map[string]string{"bad key": "ok", "good": "bad value"},
				Annotations: map[string]string{"/nope": "x"},
			}
		}),
		want: apis.ErrInvalidKeyName("bad key", "spec.pipelineRunTemplate.metadata.labels",
			"name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')").
			Also(apis.ErrInvalidValue(`"bad value": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`, "spec.pipelineRunTemplate.metadata.labels[good]")).
			Also(apis.ErrInvalidKeyName("/nope", "spec.pipelineRunTemplate.metadata.annotations", "prefix part must be non-empty")),
	}, {
		name: "name of 53 characters",
		s: schedule(func(s *PipelineSchedule) {
			s.Name = strings.Repeat("a", MaxNameLength+1)
		}),
		want: &apis.FieldError{
			Message: "name is 53 characters long, at most 52 are allowed: run names are <name>-<unix minute> and must fit in 63",
			Paths:   []string{"metadata.name"},
		},
	}, {
		name: "invalid name",
		s: schedule(func(s *PipelineSchedule) {
			s.Name = "Nightly"
		}),
		want: &apis.FieldError{
			Message: `invalid resource name "Nightly": must be a valid DNS label`,
			Paths:   []string{"metadata.name"},
		},
	}, {
		name: "every problem at once",
		s: &PipelineSchedule{
			ObjectMeta: metav1.ObjectMeta{Name: strings.Repeat("x", 60)},
			Spec: PipelineScheduleSpec{
				TimeZone:          "Nowhere",
				ConcurrencyPolicy: "forbid",
			},
		},
		want: (&apis.FieldError{
			Message: "name is 60 characters long, at most 52 are allowed: run names are <name>-<unix minute> and must fit in 63",
			Paths:   []string{"metadata.name"},
		}).Also(&apis.FieldError{
			Message: "expected at least one, got neither",
			Paths:   []string{"spec.schedule", "spec.schedules"},
		}).Also(apis.ErrInvalidValue(`unknown time zone "Nowhere": use an IANA name such as Europe/Berlin`, "spec.timeZone")).
			Also(apis.ErrInvalidValue("forbid: use Allow, Forbid or Replace", "spec.concurrencyPolicy")).
			Also(apis.ErrMissingField("spec.pipelineRunTemplate.pipelineRef")),
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.s.Validate(context.Background())
			if err == nil {
				t.Fatalf("Validate() = nil, want %v", tt.want)
			}
			if d := cmp.Diff(tt.want.Error(), err.Error()); d != "" {
				t.Errorf("Validate() error (-want, +got):\n%s", d)
			}
		})
	}
}

// TestPipelineSchedule_Validate_DateFromClock: "fires within 5 years" is decided on the date of
// the clock in the context, not on the machine's: Feb 29 fires within 5 years of 2026-06-01,
// not of 2096-03-01 (2100 is no leap year).
func TestPipelineSchedule_Validate_DateFromClock(t *testing.T) {
	s := schedule(func(s *PipelineSchedule) { s.Spec.Schedule = "0 0 29 2 *" })
	at2026 := WithClock(context.Background(), clocktesting.NewFakePassiveClock(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)))
	if err := s.Validate(at2026); err != nil {
		t.Errorf("Validate() at 2026-06-01 = %v, want no error", err)
	}
	at2096 := WithClock(context.Background(), clocktesting.NewFakePassiveClock(time.Date(2096, 3, 1, 0, 0, 0, 0, time.UTC)))
	want := `invalid value: schedule "0 0 29 2 *" never fires within 5 years: spec.schedule`
	if err := s.Validate(at2096); err == nil || err.Error() != want {
		t.Errorf("Validate() at 2096-03-01 = %v, want %q", err, want)
	}
}

// TestPipelineSchedule_Validate_StatusUpdate: a status update is not refused for the spec, so the
// controller can mark a schedule invalid that was applied before the webhook was registered;
// a spec update is.
func TestPipelineSchedule_Validate_StatusUpdate(t *testing.T) {
	bad := schedule(func(s *PipelineSchedule) { s.Spec.Schedule = "61 * * * *" })
	ctx := apis.WithinSubResourceUpdate(context.Background(), bad, "status")
	if err := bad.Validate(ctx); err != nil {
		t.Errorf("Validate() in a status update = %v, want no error", err)
	}
	ctx = apis.WithinUpdate(context.Background(), bad)
	if err := bad.Validate(ctx); err == nil {
		t.Error("Validate() in a spec update = nil, want the schedule's error")
	}
}
