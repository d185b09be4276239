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

package steps

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
	"k8s.io/utils/clock"
)

// Set by the Deployment controller: the revision of a Deployment and of each of its ReplicaSets, and the hash
// that labels a ReplicaSet's Pods.
const (
	revisionAnnotation = "deployment.kubernetes.io/revision"
	podTemplateHash    = "pod-template-hash"
)

// Rollout is one look at the rollout of a predictor Deployment.
type Rollout struct {
	// Done is true once the rollout is complete: the controller has seen the applied generation, every replica
	// runs the new Pod template and is available, and no old Pod is left.
	Done bool
	// Progress says where the rollout is when it is not done (for the log and the timeout error).
	Progress string
}

// RolloutStatus looks once at the Deployment name in namespace. It returns an error, quoting the predictor's
// own message (its container's terminated state, which the predictor's $MLPIPE_ERROR_FILE or its log tail fill),
// when a Pod of the new ReplicaSet has a container that exited with an error or is in CrashLoopBackOff, or when
// the Deployment exceeded its progress deadline. Failing API reads are progress, not errors: the wait goes on.
// modelURI finds the new Pods (by their mlpipe.dev/model-uri annotation) while the new ReplicaSet is not known.
func RolloutStatus(ctx context.Context, dyn dynamic.Interface, namespace, name, modelURI string) (*Rollout, error) {
	u, err := dyn.Resource(DeploymentGVR).Namespace(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return &Rollout{Progress: fmt.Sprintf("error reading Deployment %s/%s: %v", namespace, name, err)}, nil
	}
	d := &appsv1.Deployment{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, d); err != nil {
		return nil, fmt.Errorf("error decoding Deployment %s/%s: %w", namespace, name, err)
	}
	done, progress := deploymentProgress(d)
	if done || d.Status.ObservedGeneration < d.Generation {
		return &Rollout{Done: done, Progress: progress}, nil
	}
	failures, notes := newPredictors(ctx, dyn, d, modelURI)
	if len(failures) > 0 {
		msg := failures[0]
		if len(failures) > 1 {
			msg += fmt.Sprintf(" (and %d more failed predictor containers)", len(failures)-1)
		}
		return nil, errors.New(msg)
	}
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Status == corev1.ConditionFalse && c.Reason == "ProgressDeadlineExceeded" {
			return nil, fmt.Errorf("Deployment %s/%s: %s: %s", namespace, name, c.Reason, joinNotes(c.Message, append([]string{progress}, notes...)...))
		}
	}
	return &Rollout{Progress: joinNotes(progress, notes...)}, nil
}

func joinNotes(first string, rest ...string) string {
	return strings.Join(append([]string{first}, rest...), "; ")
}

// deploymentProgress reports whether the rollout of d is complete and, when not, why.
func deploymentProgress(d *appsv1.Deployment) (bool, string) {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	st := d.Status
	var msg string
	switch {
	case st.ObservedGeneration < d.Generation:
		return false, fmt.Sprintf("waiting for the Deployment controller to observe generation %d (observed %d)", d.Generation, st.ObservedGeneration)
	case st.UpdatedReplicas == want && st.AvailableReplicas == want && st.Replicas == st.UpdatedReplicas:
		return true, fmt.Sprintf("%d of %d replicas updated and available", want, want)
	case st.UpdatedReplicas < want:
		msg = fmt.Sprintf("%d of %d replicas updated", st.UpdatedReplicas, want)
	case st.Replicas > st.UpdatedReplicas:
		msg = fmt.Sprintf("%d old replicas pending termination", st.Replicas-st.UpdatedReplicas)
	default:
		msg = fmt.Sprintf("%d of %d updated replicas available", st.AvailableReplicas, want)
	}
	for _, c := range st.Conditions {
		if c.Type == appsv1.DeploymentReplicaFailure && c.Status == corev1.ConditionTrue {
			msg += fmt.Sprintf("; %s: %s", c.Reason, c.Message)
		}
	}
	return false, msg
}

// newPredictors looks at the Pods of d's new ReplicaSet: the quoted failures of their containers, and notes on
// what they wait for. The new ReplicaSet is the one d owns with d's revision; its Pods carry its
// pod-template-hash. Until it is known, the new Pods are those annotated with modelURI.
func newPredictors(ctx context.Context, dyn dynamic.Interface, d *appsv1.Deployment, modelURI string) (failures, notes []string) {
	sel := metav1.ListOptions{LabelSelector: PredictorLabel + "=" + d.Name}
	hash := ""
	if list, err := dyn.Resource(ReplicaSetGVR).Namespace(d.Namespace).List(ctx, sel); err != nil {
		notes = append(notes, fmt.Sprintf("error listing ReplicaSets: %v", err))
	} else {
		for _, item := range list.Items {
			rs := &appsv1.ReplicaSet{}
			if runtime.DefaultUnstructuredConverter.FromUnstructured(item.Object, rs) != nil || !ownedBy(rs.OwnerReferences, d) {
				continue
			}
			if rev := d.Annotations[revisionAnnotation]; rev != "" && rs.Annotations[revisionAnnotation] == rev {
				hash = rs.Labels[podTemplateHash]
			}
		}
	}
	list, err := dyn.Resource(PodGVR).Namespace(d.Namespace).List(ctx, sel)
	if err != nil {
		return nil, append(notes, fmt.Sprintf("error listing predictor Pods: %v", err))
	}
	var pods []*corev1.Pod
	for _, item := range list.Items {
		pod := &corev1.Pod{}
		if runtime.DefaultUnstructuredConverter.FromUnstructured(item.Object, pod) != nil || pod.DeletionTimestamp != nil {
			continue
		}
		if (hash != "" && pod.Labels[podTemplateHash] == hash) || (hash == "" && pod.Annotations[ModelURIAnnotation] == modelURI) {
			pods = append(pods, pod)
		}
	}
	sort.Slice(pods, func(i, j int) bool { return pods[i].Name < pods[j].Name })
	for _, pod := range pods {
		f, n := podState(pod)
		failures, notes = append(failures, f...), append(notes, n...)
	}
	return failures, notes
}

// ownedBy reports whether refs name d as the controller.
func ownedBy(refs []metav1.OwnerReference, d *appsv1.Deployment) bool {
	for _, r := range refs {
		if r.Controller != nil && *r.Controller && r.Kind == "Deployment" && r.Name == d.Name && (d.UID == "" || r.UID == d.UID) {
			return true
		}
	}
	return false
}

// podState returns the failures of pod's containers, quoted, and notes on what it waits for.
func podState(pod *corev1.Pod) (failures, notes []string) {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
			notes = append(notes, fmt.Sprintf("predictor %s: not scheduled: %s", pod.Name, c.Message))
		}
	}
	for _, cs := range append(append([]corev1.ContainerStatus(nil), pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...) {
		if msg, failed := containerFailure(cs); failed {
			failures = append(failures, fmt.Sprintf("predictor %s: %s", pod.Name, msg))
			continue
		}
		if w := cs.State.Waiting; w != nil && w.Reason != "" && w.Reason != "ContainerCreating" && w.Reason != "PodInitializing" {
			notes = append(notes, fmt.Sprintf("predictor %s: %s: %s", pod.Name, w.Reason, w.Message))
		}
	}
	return failures, notes
}

// containerFailure reports whether the container failed: it exited with an error, is in CrashLoopBackOff, or
// restarted after an error and is not ready again. The message is the container's own termination message
// (what the predictor wrote to $MLPIPE_ERROR_FILE, else its log tail), or its exit code and reason.
func containerFailure(cs corev1.ContainerStatus) (string, bool) {
	var t *corev1.ContainerStateTerminated
	switch last := cs.LastTerminationState.Terminated; {
	case cs.State.Terminated != nil && cs.State.Terminated.ExitCode != 0:
		t = cs.State.Terminated
	case cs.State.Waiting != nil && cs.State.Waiting.Reason == "CrashLoopBackOff":
		if last == nil {
			return fmt.Sprintf("container %s: CrashLoopBackOff: %s", cs.Name, cs.State.Waiting.Message), true
		}
		t = last
	case last != nil && last.ExitCode != 0 && !cs.Ready:
		t = last
	default:
		return "", false
	}
	msg := strings.TrimSpace(t.Message)
	msg = strings.TrimSpace(strings.TrimPrefix(msg, "Error: ")) // cobra's prefix, when the kubelet fell back to the log
	if msg == "" {
		return fmt.Sprintf("container %s exited with code %d (%s)", cs.Name, t.ExitCode, t.Reason), true
	}
	return msg, true
}

// waitRollout polls RolloutStatus every o.PollInterval on o.Clock until the rollout is complete, a predictor
// of the new version failed, or o.Timeout passed; it logs each new state.
func waitRollout(ctx context.Context, dyn dynamic.Interface, o *DeployOptions, log io.Writer) error {
	clk := o.Clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	interval := o.PollInterval
	if interval <= 0 {
		interval = 2 * time.Second
	}
	deadline := clk.Now().Add(o.Timeout)
	last := ""
	for {
		r, err := RolloutStatus(ctx, dyn, o.Namespace, o.Name, o.ModelURI)
		if err != nil {
			return err
		}
		if r.Done {
			return nil
		}
		if r.Progress != last {
			fmt.Fprintf(log, "Deployment %s/%s: %s\n", o.Namespace, o.Name, r.Progress)
			last = r.Progress
		}
		left := deadline.Sub(clk.Now())
		if left <= 0 {
			return fmt.Errorf("Deployment %s/%s: rollout not complete within %s: %s", o.Namespace, o.Name, o.Timeout, last)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("Deployment %s/%s: rollout not complete: %w: %s", o.Namespace, o.Name, ctx.Err(), last)
		case <-clk.After(min(interval, left)):
		}
	}
}
