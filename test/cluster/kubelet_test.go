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

package cluster

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/result"
	"github.com/tektoncd/pipeline/pkg/termination"
	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
)

func TestTerminationMessageParsesAsTektons(t *testing.T) {
	started := time.Date(2026, 11, 3, 4, 5, 6, 789e6, time.UTC)
	msg, err := TerminationMessage(started, map[string]string{"passed": "true", "accuracy": "0.93"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := termination.ParseMessage(zap.NewNop().Sugar(), msg)
	if err != nil {
		t.Fatalf("Tekton cannot parse %s: %v", msg, err)
	}
	want := []result.RunResult{
		{Key: "StartedAt", Value: "2026-11-03T04:05:06.789Z", ResultType: result.InternalTektonResultType},
		{Key: "accuracy", Value: "0.93", ResultType: result.TaskRunResultType},
		{Key: "passed", Value: "true", ResultType: result.TaskRunResultType},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parsed message (-want +got):\n%s", diff)
	}
}

func TestCompletedPodStatus(t *testing.T) {
	pod := &corev1.Pod{Spec: corev1.PodSpec{
		InitContainers: []corev1.Container{{Name: "prepare", Image: "entrypoint"}},
		Containers: []corev1.Container{
			{Name: "step-one", Image: "busybox"},
			{Name: "step-two", Image: "busybox"},
			{Name: "sidecar-db", Image: "postgres"},
		},
	}}
	tests := []struct {
		name      string
		outcome   TaskOutcome
		wantPhase corev1.PodPhase
		wantCodes []int32
	}{{
		name:      "success",
		outcome:   TaskOutcome{Results: map[string]string{"passed": "true"}},
		wantPhase: corev1.PodSucceeded,
		wantCodes: []int32{0, 0, 0},
	}, {
		name:      "last step fails",
		outcome:   TaskOutcome{ExitCode: 2},
		wantPhase: corev1.PodFailed,
		wantCodes: []int32{0, 2, 0},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := CompletedPodStatus(pod, tt.outcome, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if st.Phase != tt.wantPhase {
				t.Errorf("phase: want %s, got %s", tt.wantPhase, st.Phase)
			}
			var codes []int32
			for _, cs := range st.ContainerStatuses {
				codes = append(codes, cs.State.Terminated.ExitCode)
			}
			if diff := cmp.Diff(tt.wantCodes, codes); diff != "" {
				t.Errorf("exit codes (-want +got):\n%s", diff)
			}
			if n := len(st.InitContainerStatuses); n != 1 || st.InitContainerStatuses[0].State.Terminated == nil {
				t.Errorf("init containers not terminated: %+v", st.InitContainerStatuses)
			}
			last, err := termination.ParseMessage(zap.NewNop().Sugar(), st.ContainerStatuses[1].State.Terminated.Message)
			if err != nil {
				t.Fatal(err)
			}
			if len(last) != 1+len(tt.outcome.Results) {
				t.Errorf("last step's message: want StartedAt + %d results, got %+v", len(tt.outcome.Results), last)
			}
		})
	}
}

func TestCompletedPodStatusRejectsOversizedResults(t *testing.T) {
	pod := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "step-one"}}}}
	big := make([]byte, maxTerminationMessage)
	for i := range big {
		big[i] = 'x'
	}
	if _, err := CompletedPodStatus(pod, TaskOutcome{Results: map[string]string{"big": string(big)}}, time.Now()); err == nil {
		t.Error("want an error for a termination message over the kubelet's limit")
	}
}

func TestNamespaceName(t *testing.T) {
	got := namespaceName("TestClusterSmoke/gate_passes:_b_runs")
	if len(got) > 63 || got[:len("testclustersmoke-gate-passes-b-runs-")] != "testclustersmoke-gate-passes-b-runs-" {
		t.Errorf("namespaceName: got %q", got)
	}
}

func TestUnquoteShell(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/plain/path", "/plain/path"},
		{`/with\ space/x`, "/with space/x"},
		{`$'/tab\there'`, "/tab\there"},
	}
	for _, tt := range tests {
		if got := unquoteShell(tt.in); got != tt.want {
			t.Errorf("unquoteShell(%q): want %q, got %q", tt.in, tt.want, got)
		}
	}
}

func TestStandInResult(t *testing.T) {
	tests := []struct {
		r    v1.TaskResult
		want string
	}{
		{v1.TaskResult{Name: "passed"}, "true"},
		{v1.TaskResult{Name: "accuracy"}, "1"},
		{v1.TaskResult{Name: "dropped-rows"}, "1"},
		{v1.TaskResult{Name: "models", Type: v1.ResultsTypeArray}, "[]"},
		{v1.TaskResult{Name: "info", Type: v1.ResultsTypeObject}, "{}"},
		{v1.TaskResult{Name: "model-uri"}, "stand-in:train.model-uri"},
	}
	for _, tt := range tests {
		if got := StandInResult("train", tt.r); got != tt.want {
			t.Errorf("StandInResult(%s) = %q, want %q", tt.r.Name, got, tt.want)
		}
	}
}
