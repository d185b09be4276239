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

package policy

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
)

func run(name string, age time.Duration, done bool, specStatus v1.PipelineRunSpecStatus) *v1.PipelineRun {
	r := &v1.PipelineRun{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{PipelineLabel: "churn"},
		CreationTimestamp: metav1.NewTime(time.Unix(1_700_000_000, 0).Add(-age))}}
	r.Spec.Status = specStatus
	if done {
		r.Status.Conditions = duckv1.Conditions{{Type: apis.ConditionSucceeded, Status: corev1.ConditionTrue}}
	}
	return r
}

func names(runs []*v1.PipelineRun) []string {
	var out []string
	for _, r := range runs {
		out = append(out, r.Name)
	}
	return out
}

func TestActive(t *testing.T) {
	runs := []*v1.PipelineRun{
		run("new", time.Minute, false, ""),
		run("old", time.Hour, false, ""),
		run("done", 2*time.Hour, true, ""),
		run("cancelling", 3*time.Hour, false, v1.PipelineRunSpecStatusCancelled),
		run("replaced", 4*time.Hour, false, v1.PipelineRunSpecStatusCancelledRunFinally),
	}
	if diff := cmp.Diff([]string{"old", "new"}, names(Active(runs))); diff != "" {
		t.Errorf("Active (-want +got):\n%s", diff)
	}
}

func TestDecide(t *testing.T) {
	active := []*v1.PipelineRun{run("a", time.Hour, false, ""), run("b", time.Minute, false, "")}
	tests := []struct {
		name   string
		policy Policy
		active []*v1.PipelineRun
		self   string
		want   Action
		cancel []string
	}{
		{name: "allow with active runs", policy: Allow, active: active, want: Start},
		{name: "forbid without active runs", policy: Forbid, want: Start},
		{name: "forbid with active runs", policy: Forbid, active: active, want: Skip},
		{name: "forbid ignores the same start delivered twice", policy: Forbid, active: active[:1], self: "a", want: Start},
		{name: "replace cancels every other active run", policy: Replace, active: active, self: "c", want: CancelThenStart, cancel: []string{"a", "b"}},
		{name: "replace without active runs", policy: Replace, want: Start},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Decide(tt.policy, tt.active, tt.self)
			if d.Action != tt.want {
				t.Errorf("Action = %v, want %v", d.Action, tt.want)
			}
			if diff := cmp.Diff(tt.cancel, names(d.Cancel)); diff != "" {
				t.Errorf("Cancel (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParse(t *testing.T) {
	for in, want := range map[string]Policy{"": Allow, "Allow": Allow, "Forbid": Forbid, "Replace": Replace} {
		if got, err := Parse(in); err != nil || got != want {
			t.Errorf("Parse(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := Parse("forbid"); err == nil {
		t.Error("Parse(forbid) succeeded, want an error")
	}
}
