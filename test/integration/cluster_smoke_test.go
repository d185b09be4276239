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

package integration

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"knative.dev/pkg/apis"

	"github.com/mlpipe/mlpipe/test/cluster"
)

// restrictedStep passes the restricted Pod Security profile.
func restrictedStep(name, script string) v1.Step {
	return v1.Step{
		Name:   name,
		Image:  "busybox:placeholder",
		Script: script,
		SecurityContext: &corev1.SecurityContext{
			AllowPrivilegeEscalation: ptr.To(false),
			RunAsNonRoot:             ptr.To(true),
			RunAsUser:                ptr.To[int64](65532),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
	}
}

// smokeObjects are two Tasks and a Pipeline a → b (b only when a's result passed is "true") with a finally task.
func smokeObjects(t *testing.T) []runtime.Object {
	t.Helper()
	check := &v1.Task{
		ObjectMeta: metav1.ObjectMeta{Name: "check"},
		Spec: v1.TaskSpec{
			Results: []v1.TaskResult{{Name: "passed", Description: "whether the check passed"}},
			Steps: []v1.Step{
				restrictedStep("prepare", "#!/bin/sh\nset -eu\necho preparing\n"),
				restrictedStep("check", "#!/bin/sh\nset -eu\nprintf true > \"$(results.passed.path)\"\n"),
			},
		},
	}
	echo := &v1.Task{
		ObjectMeta: metav1.ObjectMeta{Name: "echo"},
		Spec: v1.TaskSpec{
			Params: []v1.ParamSpec{{Name: "message", Type: v1.ParamTypeString}},
			Steps: []v1.Step{{
				Name:            "echo",
				Image:           "busybox:placeholder",
				Script:          "#!/bin/sh\nset -eu\necho \"$MESSAGE\"\n",
				Env:             []corev1.EnvVar{{Name: "MESSAGE", Value: "$(params.message)"}},
				SecurityContext: restrictedStep("", "").SecurityContext,
			}},
		},
	}
	p := &v1.Pipeline{
		ObjectMeta: metav1.ObjectMeta{Name: "smoke"},
		Spec: v1.PipelineSpec{
			Tasks: []v1.PipelineTask{{
				Name:    "a",
				TaskRef: &v1.TaskRef{Name: "check"},
			}, {
				Name:     "b",
				TaskRef:  &v1.TaskRef{Name: "echo"},
				RunAfter: []string{"a"},
				Params:   v1.Params{{Name: "message", Value: *v1.NewStructuredValues("a passed")}},
				When: v1.WhenExpressions{{
					Input:    "$(tasks.a.results.passed)",
					Operator: "in",
					Values:   []string{"true"},
				}},
			}},
			Finally: []v1.PipelineTask{{
				Name:    "report",
				TaskRef: &v1.TaskRef{Name: "echo"},
				Params:  v1.Params{{Name: "message", Value: *v1.NewStructuredValues("tasks: $(tasks.status)")}},
			}},
		},
	}
	ctx := context.Background()
	for _, task := range []*v1.Task{check, echo} {
		task.SetDefaults(ctx)
		if err := task.Validate(ctx); err != nil {
			t.Fatalf("Task %s is invalid: %v", task.Name, err)
		}
	}
	p.SetDefaults(ctx)
	if err := p.Validate(ctx); err != nil {
		t.Fatalf("Pipeline is invalid: %v", err)
	}
	return []runtime.Object{check, echo, p}
}

func TestClusterSmoke(t *testing.T) {
	// set-security-context makes Tekton's own init containers pass the restricted profile.
	// Start logs the control plane's start time (envtest up + CRDs + Tekton controller holding its leases).
	c := cluster.Start(t, cluster.WithFeatureFlags(map[string]string{"set-security-context": "true"}))

	tests := []struct {
		name        string
		restricted  bool
		outcomes    cluster.Outcomes
		wantReason  string
		wantRan     []string
		wantSkipped []string
	}{{
		name:       "gate passes: b runs",
		outcomes:   cluster.Outcomes{"a": {Results: map[string]string{"passed": "true"}}},
		wantReason: "Succeeded",
		wantRan:    []string{"a", "b", "report"},
	}, {
		name:        "gate fails: b skipped",
		outcomes:    cluster.Outcomes{"a": {Results: map[string]string{"passed": "false"}}},
		wantReason:  "Completed",
		wantRan:     []string{"a", "report"},
		wantSkipped: []string{"b"},
	}, {
		name:        "a fails: finally still runs",
		outcomes:    cluster.Outcomes{"a": {ExitCode: 1}},
		wantReason:  "Failed",
		wantRan:     []string{"a", "report"},
		wantSkipped: []string{"b"},
	}, {
		name:       "restricted namespace admits the Pods",
		restricted: true,
		outcomes:   cluster.Outcomes{"a": {Results: map[string]string{"passed": "true"}}},
		wantReason: "Succeeded",
		wantRan:    []string{"a", "b", "report"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns := c.NewNamespace(t, tt.restricted)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			if _, err := c.Apply(ctx, ns, smokeObjects(t)...); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			pr, err := c.RunPipelineRun(ctx, &v1.PipelineRun{
				ObjectMeta: metav1.ObjectMeta{Name: "smoke-run", Namespace: ns},
				Spec:       v1.PipelineRunSpec{PipelineRef: &v1.PipelineRef{Name: "smoke"}},
			}, tt.outcomes)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("PipelineRun done in %s", time.Since(start).Round(time.Millisecond))
			cond := pr.Status.GetCondition(apis.ConditionSucceeded)
			if cond.Reason != tt.wantReason {
				t.Errorf("PipelineRun reason: want %s, got %s (%s)", tt.wantReason, cond.Reason, cond.Message)
			}
			if diff := cmp.Diff(tt.wantRan, cluster.RanTasks(pr)); diff != "" {
				t.Errorf("ran tasks (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantSkipped, cluster.SkippedTasks(pr)); diff != "" {
				t.Errorf("skipped tasks (-want +got):\n%s", diff)
			}
			trs, err := c.ChildTaskRuns(ctx, ns, pr.Name)
			if err != nil {
				t.Fatal(err)
			}
			// Tekton's controller read the result from the termination message.
			if want, ok := tt.outcomes["a"].Results["passed"]; ok {
				got := ""
				for _, r := range trs["a"].Status.Results {
					if r.Name == "passed" {
						got = r.Value.StringVal
					}
				}
				if got != want {
					t.Errorf("TaskRun a result passed: want %q, got %q", want, got)
				}
			}
			for _, s := range pr.Status.SkippedTasks {
				if s.Name == "b" && tt.wantReason == "Completed" && s.Reason != v1.WhenExpressionsSkip {
					t.Errorf("b skipped for %q, want %q", s.Reason, v1.WhenExpressionsSkip)
				}
			}
		})
	}

	t.Run("tkn pipeline start", func(t *testing.T) {
		cluster.RequireTools(t, "tkn")
		ns := c.NewNamespace(t, false)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if _, err := c.Apply(ctx, ns, smokeObjects(t)...); err != nil {
			t.Fatal(err)
		}
		out, err := c.Tkn(ctx, "pipeline", "start", "smoke", "--namespace", ns, "--use-param-defaults", "--output", "name")
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSpace(string(out))
		pr, err := c.DrivePipelineRun(ctx, ns, name, cluster.Outcomes{"a": {Results: map[string]string{"passed": "false"}}})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"b"}, cluster.SkippedTasks(pr)); diff != "" {
			t.Errorf("skipped tasks (-want +got):\n%s", diff)
		}
	})

	t.Run("restricted namespace rejects a non-compliant Pod", func(t *testing.T) {
		ns := c.NewNamespace(t, true)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, err := c.Kube.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "privileged"},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{
				Name:            "c",
				Image:           "busybox:placeholder",
				SecurityContext: &corev1.SecurityContext{Privileged: ptr.To(true)},
			}}},
		}, metav1.CreateOptions{})
		if err == nil || !strings.Contains(err.Error(), "violates PodSecurity") {
			t.Fatalf("want the Pod rejected by Pod Security admission, got %v", err)
		}
		// A Task whose step runs with the default security context: Tekton cannot create its Pod.
		tr, err := c.Tekton.TektonV1().TaskRuns(ns).Create(ctx, &v1.TaskRun{
			ObjectMeta: metav1.ObjectMeta{Name: "loose", Namespace: ns},
			Spec: v1.TaskRunSpec{TaskSpec: &v1.TaskSpec{Steps: []v1.Step{{
				Name: "loose", Image: "busybox:placeholder", Script: "#!/bin/sh\necho hi\n",
			}}}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		err = c.CompleteTaskRun(ctx, ns, tr.Name, nil, 0)
		if err == nil || !strings.Contains(err.Error(), "violates PodSecurity") {
			t.Fatalf("want the TaskRun to fail Pod admission, got %v", err)
		}
		t.Logf("as expected: %v", err)
	})
}
