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
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/tektoncd/pipeline/pkg/apis/pipeline"
	"github.com/tektoncd/pipeline/pkg/result"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"
	"knative.dev/pkg/apis"
)

const (
	// stepPrefix marks the containers Tekton makes from a Task's steps.
	stepPrefix = "step-"
	// entrypointTimeFormat is how Tekton's entrypoint writes StartedAt (RFC 3339 with milliseconds).
	entrypointTimeFormat = "2006-01-02T15:04:05.000Z07:00"
	// maxTerminationMessage is the kubelet's limit on a container's termination message.
	maxTerminationMessage = 4096
)

// ErrPodCompleted is returned by CompletePod for a Pod that has already finished.
var ErrPodCompleted = errors.New("pod already completed")

// TaskOutcome is what the stand-in kubelet reports for a TaskRun's Pod.
type TaskOutcome struct {
	// Results are the Task results the steps wrote (name → value; an array or object result's value is its
	// JSON). They travel in the last step's termination message, as Tekton's entrypoint writes them.
	Results map[string]string
	// ExitCode is the last step's exit code; the steps before it exit 0. Non-zero fails the Pod and the TaskRun.
	ExitCode int
}

// CompleteTaskRun plays kubelet and Tekton's entrypoint for a TaskRun: it waits for the TaskRun's Pod, then
// finishes it with the given results and exit code (see TaskOutcome). Tekton's controller then reads the
// results from the termination message and updates the TaskRun (and its PipelineRun) itself. ctx bounds the
// wait; it fails if the TaskRun finishes without a Pod (for example when the Pod was not admitted).
func (c *Cluster) CompleteTaskRun(ctx context.Context, ns, taskRunName string, results map[string]string, exitCode int) error {
	var podName string
	var last string
	err := wait.PollUntilContextCancel(ctx, 50*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		tr, err := c.Tekton.TektonV1().TaskRuns(ns).Get(ctx, taskRunName, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			last = "TaskRun does not exist"
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if tr.IsDone() {
			cond := tr.Status.GetCondition(apis.ConditionSucceeded)
			return false, fmt.Errorf("TaskRun finished before its Pod ran: %s: %s", cond.Reason, cond.Message)
		}
		if tr.Status.PodName == "" {
			last = "TaskRun has no Pod yet"
			if cond := tr.Status.GetCondition(apis.ConditionSucceeded); cond != nil {
				last += fmt.Sprintf(" (%s: %s)", cond.Reason, cond.Message)
			}
			return false, nil
		}
		podName = tr.Status.PodName
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("error waiting for the Pod of TaskRun %s/%s (%s): %w", ns, taskRunName, last, err)
	}
	return c.CompletePod(ctx, ns, podName, TaskOutcome{Results: results, ExitCode: exitCode})
}

// CompletePod sets a TaskRun Pod's status the way the kubelet does when its containers have run under Tekton's
// entrypoint: init containers and steps terminated, phase Succeeded (or Failed for a non-zero exit code), and
// each step's termination message carrying its start time and, for the last step, the results.
func (c *Cluster) CompletePod(ctx context.Context, ns, podName string, o TaskOutcome) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		pod, err := c.Kube.CoreV1().Pods(ns).Get(ctx, podName, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("error getting Pod %s/%s: %w", ns, podName, err)
		}
		if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
			return fmt.Errorf("%w: %s/%s is %s", ErrPodCompleted, ns, podName, pod.Status.Phase)
		}
		status, err := CompletedPodStatus(pod, o, time.Now())
		if err != nil {
			return fmt.Errorf("pod %s/%s: %w", ns, podName, err)
		}
		pod.Status = status
		if _, err := c.Kube.CoreV1().Pods(ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
			if apierrors.IsConflict(err) {
				return err
			}
			return fmt.Errorf("error updating the status of Pod %s/%s: %w", ns, podName, err)
		}
		return nil
	})
}

// CompletedPodStatus returns the status a kubelet reports for a Tekton TaskRun Pod whose containers have all
// run to completion at now, with o's results and exit code.
func CompletedPodStatus(pod *corev1.Pod, o TaskOutcome, now time.Time) (corev1.PodStatus, error) {
	started := metav1.NewTime(now.Add(-time.Second).Truncate(time.Second))
	finished := metav1.NewTime(now.Truncate(time.Second))
	status := *pod.Status.DeepCopy()
	status.Phase = corev1.PodSucceeded
	if o.ExitCode != 0 {
		status.Phase = corev1.PodFailed
	}
	if status.StartTime == nil {
		status.StartTime = &started
	}
	status.Conditions = []corev1.PodCondition{
		{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: started},
		{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, LastTransitionTime: started},
		{Type: corev1.ContainersReady, Status: corev1.ConditionFalse, Reason: "PodCompleted", LastTransitionTime: finished},
		{Type: corev1.PodReady, Status: corev1.ConditionFalse, Reason: "PodCompleted", LastTransitionTime: finished},
	}
	terminated := func(ctr corev1.Container, code int, message string) corev1.ContainerStatus {
		reason := "Completed"
		if code != 0 {
			reason = "Error"
		}
		notStarted := false
		return corev1.ContainerStatus{
			Name:    ctr.Name,
			Image:   ctr.Image,
			ImageID: ctr.Image,
			Started: &notStarted,
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				ExitCode:    int32(code),
				Reason:      reason,
				Message:     message,
				StartedAt:   started,
				FinishedAt:  finished,
				ContainerID: "containerd://" + ctr.Name,
			}},
		}
	}
	status.InitContainerStatuses = nil
	for _, ctr := range pod.Spec.InitContainers {
		status.InitContainerStatuses = append(status.InitContainerStatuses, terminated(ctr, 0, ""))
	}
	lastStep := -1
	for i, ctr := range pod.Spec.Containers {
		if strings.HasPrefix(ctr.Name, stepPrefix) {
			lastStep = i
		}
	}
	if lastStep < 0 {
		return status, fmt.Errorf("no step containers (%s*): not a TaskRun Pod", stepPrefix)
	}
	status.ContainerStatuses = nil
	for i, ctr := range pod.Spec.Containers {
		if !strings.HasPrefix(ctr.Name, stepPrefix) {
			// A sidecar: Tekton stops sidecars once the steps are done.
			status.ContainerStatuses = append(status.ContainerStatuses, terminated(ctr, 0, ""))
			continue
		}
		code := 0
		var results map[string]string
		if i == lastStep {
			code, results = o.ExitCode, o.Results
		}
		msg, err := TerminationMessage(started.Time, results)
		if err != nil {
			return status, err
		}
		if len(msg) > maxTerminationMessage {
			return status, fmt.Errorf("termination message of step %s is %d bytes, over the kubelet's %d-byte limit: Tekton would lose these results", ctr.Name, len(msg), maxTerminationMessage)
		}
		status.ContainerStatuses = append(status.ContainerStatuses, terminated(ctr, code, msg))
	}
	return status, nil
}

// TerminationMessage is the termination message Tekton's entrypoint writes for a step that started at started
// and left results: a JSON list of result.RunResult, the start time as an internal entry, each result as a
// TaskRun result (sorted by name).
func TerminationMessage(started time.Time, results map[string]string) (string, error) {
	out := []result.RunResult{{
		Key:        "StartedAt",
		Value:      started.UTC().Format(entrypointTimeFormat),
		ResultType: result.InternalTektonResultType,
	}}
	names := make([]string, 0, len(results))
	for name := range results {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		out = append(out, result.RunResult{Key: name, Value: results[name], ResultType: result.TaskRunResultType})
	}
	data, err := json.Marshal(out)
	if err != nil {
		return "", fmt.Errorf("error encoding the termination message: %w", err)
	}
	return string(data), nil
}

// pipelineTaskOf returns the pipeline task a TaskRun runs (empty for a TaskRun outside a Pipeline).
func pipelineTaskOf(labels map[string]string) string { return labels[pipeline.PipelineTaskLabelKey] }
