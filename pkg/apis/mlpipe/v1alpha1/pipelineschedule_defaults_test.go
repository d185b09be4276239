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
	"testing"

	"github.com/google/go-cmp/cmp"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
)

func TestPipelineScheduleSpec_SetDefaults(t *testing.T) {
	ref := &pipelinev1.PipelineRef{Name: "train"}
	tests := []struct {
		name string
		in   PipelineScheduleSpec
		want PipelineScheduleSpec
	}{{
		name: "empty gets every default",
		in:   PipelineScheduleSpec{Schedule: "@daily", PipelineRunTemplate: PipelineRunTemplate{PipelineRef: ref}},
		want: PipelineScheduleSpec{
			Schedule:                   "@daily",
			TimeZone:                   "UTC",
			ConcurrencyPolicy:          ForbidConcurrent,
			SuccessfulRunsHistoryLimit: ptr(int32(3)),
			FailedRunsHistoryLimit:     ptr(int32(1)),
			PipelineRunTemplate:        PipelineRunTemplate{PipelineRef: ref},
		},
	}, {
		name: "set values are kept, zeros included",
		in: PipelineScheduleSpec{
			Schedules:                  []string{"@hourly"},
			TimeZone:                   "Europe/Berlin",
			ConcurrencyPolicy:          AllowConcurrent,
			StartingDeadlineSeconds:    ptr(int64(60)),
			SuccessfulRunsHistoryLimit: ptr(int32(0)),
			FailedRunsHistoryLimit:     ptr(int32(0)),
		},
		want: PipelineScheduleSpec{
			Schedules:                  []string{"@hourly"},
			TimeZone:                   "Europe/Berlin",
			ConcurrencyPolicy:          AllowConcurrent,
			StartingDeadlineSeconds:    ptr(int64(60)),
			SuccessfulRunsHistoryLimit: ptr(int32(0)),
			FailedRunsHistoryLimit:     ptr(int32(0)),
		},
	}, {
		name: "startingDeadlineSeconds stays unset",
		in:   PipelineScheduleSpec{ConcurrencyPolicy: ReplaceConcurrent},
		want: PipelineScheduleSpec{
			TimeZone:                   "UTC",
			ConcurrencyPolicy:          ReplaceConcurrent,
			SuccessfulRunsHistoryLimit: ptr(int32(3)),
			FailedRunsHistoryLimit:     ptr(int32(1)),
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &PipelineSchedule{Spec: tt.in}
			s.SetDefaults(context.Background())
			if d := cmp.Diff(tt.want, s.Spec); d != "" {
				t.Errorf("SetDefaults() (-want, +got):\n%s", d)
			}
			// Defaulting twice changes nothing.
			again := s.DeepCopy()
			again.SetDefaults(context.Background())
			if d := cmp.Diff(s, again); d != "" {
				t.Errorf("second SetDefaults() changed the object (-first, +second):\n%s", d)
			}
		})
	}
}

func TestPipelineScheduleSpec_AllSchedules(t *testing.T) {
	tests := []struct {
		name string
		in   PipelineScheduleSpec
		want []string
	}{
		{name: "none", in: PipelineScheduleSpec{}, want: nil},
		{name: "schedule only", in: PipelineScheduleSpec{Schedule: "@daily"}, want: []string{"@daily"}},
		{name: "schedules only", in: PipelineScheduleSpec{Schedules: []string{"a", "b"}}, want: []string{"a", "b"}},
		{name: "schedule first", in: PipelineScheduleSpec{Schedule: "x", Schedules: []string{"a"}}, want: []string{"x", "a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := cmp.Diff(tt.want, tt.in.AllSchedules()); d != "" {
				t.Errorf("AllSchedules() (-want, +got):\n%s", d)
			}
		})
	}
}
