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

package resources

import (
	"testing"
	"time"

	"knative.dev/pkg/kmeta"
)

// TestRunNamePinned pins the names of slot runs. The name is the slot's lock: two replicas, a restarted
// controller or an upgraded one must compute the same name for a slot, or the slot gets a second run. A change
// that renames runs fails here. The expected names were computed outside this code: the slot's Unix minute is
// $(( $(date -u -d SLOT +%s) / 60 )); a schedule name that fits is "<schedule>-<minute>"; a longer one is cut to
// 63-len(minute)-10 characters and followed by "-" + the first 8 hex digits of
// printf '%s' SCHEDULE | sha256sum + "-" + the minute.
func TestRunNamePinned(t *testing.T) {
	tests := []struct {
		schedule, slot, want string
	}{
		{"nightly", "2026-01-01T02:00:00Z", "nightly-29453880"},
		{"churn-retrain", "2026-03-01T09:30:00Z", "churn-retrain-29539290"},
		// Seconds inside the minute do not change the name.
		{"churn-retrain", "2026-03-01T09:30:45Z", "churn-retrain-29539290"},
		{"my.schedule", "1999-12-31T23:59:00Z", "my.schedule-15778079"},
		// 54 characters + "-" + 8 digits: exactly 63, not cut.
		{"churn-retraining-pipeline-for-region-eu-west-1-nightly", "2026-03-01T09:30:00Z",
			"churn-retraining-pipeline-for-region-eu-west-1-nightly-29539290"},
		// 55 characters: cut to 45 and hashed.
		{"churn-retraining-pipeline-for-region-eu-west-1-nightlyx", "2026-03-01T09:30:00Z",
			"churn-retraining-pipeline-for-region-eu-west--adcfb5df-29539290"},
		{"fraud-detection-gradient-boosting-retraining-for-every-region-and-every-product", "2026-03-01T09:30:00Z",
			"fraud-detection-gradient-boosting-retraining--5c5a4c43-29539290"},
	}
	for _, tt := range tests {
		t.Run(tt.schedule+"@"+tt.slot, func(t *testing.T) {
			slot, err := time.Parse(time.RFC3339, tt.slot)
			if err != nil {
				t.Fatal(err)
			}
			if got := RunName(tt.schedule, slot); got != tt.want {
				t.Errorf("RunName(%q, %s) = %q, want %q (renaming lets a slot start twice across an upgrade)", tt.schedule, tt.slot, got, tt.want)
			}
			if len(tt.want) > 63 {
				t.Errorf("pinned name %q is longer than 63 characters", tt.want)
			}
		})
	}
}

// TestRunNameIsChildNameWhenItFits: while "<schedule>-<minute>" fits in 63 characters, RunName is knative's
// kmeta.ChildName(schedule, "-<minute>"), the helper NameFor also equals while it fits. Once cut, the three
// differ (ChildName appends an MD5 of the parent, NameFor no hash of its prefix), so RunName keeps its own form:
// sharing either would rename the runs of every long schedule name.
func TestRunNameIsChildNameWhenItFits(t *testing.T) {
	slot := time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)
	for _, s := range []string{"nightly", "my.schedule", "churn-retraining-pipeline-for-region-eu-west-1-nightly"} {
		if got, want := RunName(s, slot), kmeta.ChildName(s, "-29539290"); got != want {
			t.Errorf("RunName(%q) = %q, kmeta.ChildName = %q", s, got, want)
		}
	}
	long := "churn-retraining-pipeline-for-region-eu-west-1-nightlyx"
	if RunName(long, slot) == kmeta.ChildName(long, "-29539290") {
		t.Errorf("RunName(%q) equals kmeta.ChildName: the comment on RunName is out of date", long)
	}
}
