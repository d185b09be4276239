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

package schedule

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mlpipe/mlpipe/pkg/apis/mlpipe/v1alpha1"
	"github.com/mlpipe/mlpipe/pkg/policy"
	"github.com/mlpipe/mlpipe/pkg/reconciler/pipelineschedule/resources"
	"github.com/mlpipe/mlpipe/test/cluster"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	clocktesting "k8s.io/utils/clock/testing"
	"knative.dev/pkg/apis"
)

// applyAlertingPipeline applies the Pipeline churn: a train task that never ends by itself (no Pod of it is
// completed in these tests) and a finally alert, as generated pipelines have.
func applyAlertingPipeline(t *testing.T, c *cluster.Cluster, ns string) {
	t.Helper()
	const yaml = `apiVersion: tekton.dev/v1
kind: Task
metadata: {name: work}
spec:
  params: [{name: as-of, type: string, default: ""}]
  steps:
    - name: work
      image: busybox
      env: [{name: AS_OF, value: $(params.as-of)}]
      script: |
        sleep 86400
---
apiVersion: tekton.dev/v1
kind: Task
metadata: {name: alert}
spec:
  steps:
    - name: alert
      image: busybox
      script: |
        echo alert
---
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: churn}
spec:
  params: [{name: as-of, type: string, default: ""}]
  tasks:
    - name: train
      taskRef: {name: work}
      params: [{name: as-of, value: $(params.as-of)}]
  finally:
    - name: alert
      taskRef: {name: alert}
`
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.ApplyYAML(ctx, ns, []byte(yaml)); err != nil {
		t.Fatal(err)
	}
}

// waitForPod waits until Tekton has created the Pod of the run's TaskRun for task.
func waitForPod(ctx context.Context, c *cluster.Cluster, ns, run, task string) error {
	return wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		trs, err := c.ChildTaskRuns(ctx, ns, run)
		if err != nil {
			return false, err
		}
		tr := trs[task]
		return tr != nil && tr.Status.PodName != "", nil
	})
}

// driveOnly plays kubelet for one pipeline task of a run: its TaskRun's Pod is completed (exit 0) once Tekton
// creates it, and no other Pod of the run is touched. It returns the run once Tekton marks it done.
func driveOnly(ctx context.Context, c *cluster.Cluster, ns, run, task string) (*pipelinev1.PipelineRun, error) {
	var done *pipelinev1.PipelineRun
	err := wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		pr, err := c.Tekton.TektonV1().PipelineRuns(ns).Get(ctx, run, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if pr.IsDone() {
			done = pr
			return true, nil
		}
		trs, err := c.ChildTaskRuns(ctx, ns, run)
		if err != nil {
			return false, err
		}
		if tr := trs[task]; tr != nil && !tr.IsDone() && tr.Status.PodName != "" {
			if err := c.CompletePod(ctx, ns, tr.Status.PodName, cluster.TaskOutcome{}); err != nil && !errors.Is(err, cluster.ErrPodCompleted) {
				return false, err
			}
		}
		return false, nil
	})
	return done, err
}

// TestScheduleReplaceRunsFinallyWithTektonController proves, with Tekton's own controller, that Replace is
// graceful: the replaced run's running task is cancelled, its finally task (the alert) is still created and
// runs, the run ends Cancelled, and the slot's new run starts.
func TestScheduleReplaceRunsFinallyWithTektonController(t *testing.T) {
	c := cluster.Start(t)
	installScheduleCRD(t, c)
	ns := c.NewNamespace(t, false)
	applyAlertingPipeline(t, c, ns)
	s := newSchedule(t, c, ns, "hourly", "0 * * * *", func(s *v1alpha1.PipelineSchedule) {
		s.Spec.ConcurrencyPolicy = v1alpha1.ReplaceConcurrent
	})
	clk := clocktesting.NewFakeClock(s.CreationTimestamp.Time)
	rep := startReplica(t, c, clk)
	key := ns + "/hourly"
	slot1 := s.CreationTimestamp.Time.UTC().Truncate(time.Hour).Add(time.Hour)
	slot2 := slot1.Add(time.Hour)
	a, b := resources.RunName("hourly", slot1), resources.RunName("hourly", slot2)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	// Run A starts and its train task is running (its Pod exists and is never completed).
	reconcileAt(t, rep, clk, slot1.Add(time.Second), key)
	if err := waitForPod(ctx, c, ns, a, "train"); err != nil {
		t.Fatalf("run A's train task never got a Pod: %v", err)
	}
	cached(t, rep, ns, a, started)

	// The next slot replaces it.
	reconcileAt(t, rep, clk, slot2.Add(time.Second), key)
	prA, err := driveOnly(ctx, c, ns, a, "alert")
	if err != nil {
		t.Fatalf("run A did not finish after Replace: %v", err)
	}
	if prA.Spec.Status != pipelinev1.PipelineRunSpecStatusCancelledRunFinally {
		t.Errorf("run A spec.status = %q, want %q", prA.Spec.Status, pipelinev1.PipelineRunSpecStatusCancelledRunFinally)
	}
	if cond := prA.Status.GetCondition(apis.ConditionSucceeded); cond == nil || cond.Status != corev1.ConditionFalse || cond.Reason != pipelinev1.PipelineRunReasonCancelled.String() {
		t.Errorf("run A condition = %+v, want Succeeded=False reason %s", cond, pipelinev1.PipelineRunReasonCancelled)
	}
	trs, err := c.ChildTaskRuns(ctx, ns, a)
	if err != nil {
		t.Fatal(err)
	}
	if tr := trs["train"]; tr == nil || tr.Status.GetCondition(apis.ConditionSucceeded).GetReason() != pipelinev1.TaskRunReasonCancelled.String() {
		t.Errorf("run A's train TaskRun = %v, want it cancelled (%s)", taskRunState(tr), pipelinev1.TaskRunReasonCancelled)
	}
	if tr := trs["alert"]; tr == nil || !tr.IsSuccessful() {
		t.Errorf("run A's finally alert TaskRun = %v, want it created and succeeded: Replace must let finally run", taskRunState(tr))
	}

	// Run B, the slot's, has started: Tekton created its train TaskRun, and nothing cancels it.
	prB, err := c.WaitForPipelineRun(ctx, ns, b, func(pr *pipelinev1.PipelineRun) (bool, error) {
		return len(pr.Status.ChildReferences) > 0, nil
	})
	if err != nil {
		t.Fatalf("run B did not start: %v", err)
	}
	if prB.Spec.Status != "" || prB.IsDone() {
		t.Errorf("run B spec.status = %q, condition %+v; want it running", prB.Spec.Status, prB.Status.GetCondition(apis.ConditionSucceeded))
	}
	if got := cluster.RanTasks(prB); len(got) != 1 || got[0] != "train" {
		t.Errorf("run B ran %v, want [train]", got)
	}
	var active []string
	for _, r := range policy.Active(scheduleRuns(t, c, ns, "hourly")) {
		active = append(active, r.Name)
	}
	if len(active) != 1 || active[0] != b {
		t.Errorf("active runs = %v, want only %s", active, b)
	}
}

// taskRunState describes a TaskRun for a failure message.
func taskRunState(tr *pipelinev1.TaskRun) string {
	if tr == nil {
		return "never created"
	}
	cond := tr.Status.GetCondition(apis.ConditionSucceeded)
	if cond == nil {
		return tr.Name + ": no Succeeded condition"
	}
	return tr.Name + ": Succeeded=" + string(cond.Status) + " " + cond.Reason + ": " + cond.Message
}
