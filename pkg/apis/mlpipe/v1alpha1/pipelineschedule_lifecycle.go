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
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
)

const (
	// ConditionScheduleValid is True when the spec passes Validate (schedules, zone, policies, run
	// template); False, with the errors and their field paths, fires nothing.
	ConditionScheduleValid apis.ConditionType = "ScheduleValid"
	// ConditionRunCreated is False when the last slot's run could not be created (e.g. a
	// same-named run that another owner holds).
	ConditionRunCreated apis.ConditionType = "RunCreated"
)

var scheduleCondSet = apis.NewLivingConditionSet(ConditionScheduleValid, ConditionRunCreated)

// GetConditionSet returns the conditions of a PipelineSchedule.
func (*PipelineSchedule) GetConditionSet() apis.ConditionSet { return scheduleCondSet }

// GetStatus returns the duck status.
func (s *PipelineSchedule) GetStatus() *duckv1.Status { return &s.Status.Status }

// InitializeConditions sets every unset condition to Unknown.
func (st *PipelineScheduleStatus) InitializeConditions() {
	scheduleCondSet.Manage(st).InitializeConditions()
}

// MarkScheduleValid records that the spec is valid.
func (st *PipelineScheduleStatus) MarkScheduleValid() {
	scheduleCondSet.Manage(st).MarkTrue(ConditionScheduleValid)
}

// MarkScheduleInvalid records why the spec is invalid.
func (st *PipelineScheduleStatus) MarkScheduleInvalid(reason, format string, args ...any) {
	scheduleCondSet.Manage(st).MarkFalse(ConditionScheduleValid, reason, format, args...)
}

// MarkRunCreated records that the last slot's run exists.
func (st *PipelineScheduleStatus) MarkRunCreated() {
	scheduleCondSet.Manage(st).MarkTrue(ConditionRunCreated)
}

// MarkRunNotCreated records why the last slot's run could not be created.
func (st *PipelineScheduleStatus) MarkRunNotCreated(reason, format string, args ...any) {
	scheduleCondSet.Manage(st).MarkFalse(ConditionRunCreated, reason, format, args...)
}

// IsReady reports whether the schedule is valid and its last run was created.
func (st *PipelineScheduleStatus) IsReady() bool {
	return scheduleCondSet.Manage(st).IsHappy()
}
