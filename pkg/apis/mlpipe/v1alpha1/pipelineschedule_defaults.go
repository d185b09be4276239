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
)

// Defaults of a PipelineSchedule.
const (
	DefaultTimeZone                   = "UTC"
	DefaultSuccessfulRunsHistoryLimit = int32(3)
	DefaultFailedRunsHistoryLimit     = int32(1)
)

// SetDefaults implements apis.Defaultable.
func (s *PipelineSchedule) SetDefaults(ctx context.Context) {
	s.Spec.SetDefaults(ctx)
}

// SetDefaults fills the optional fields.
func (s *PipelineScheduleSpec) SetDefaults(context.Context) {
	if s.TimeZone == "" {
		s.TimeZone = DefaultTimeZone
	}
	if s.ConcurrencyPolicy == "" {
		s.ConcurrencyPolicy = ForbidConcurrent
	}
	if s.SuccessfulRunsHistoryLimit == nil {
		v := DefaultSuccessfulRunsHistoryLimit
		s.SuccessfulRunsHistoryLimit = &v
	}
	if s.FailedRunsHistoryLimit == nil {
		v := DefaultFailedRunsHistoryLimit
		s.FailedRunsHistoryLimit = &v
	}
}

// AllSchedules returns Schedule followed by Schedules.
func (s *PipelineScheduleSpec) AllSchedules() []string {
	var out []string
	if s.Schedule != "" {
		out = append(out, s.Schedule)
	}
	return append(out, s.Schedules...)
}
