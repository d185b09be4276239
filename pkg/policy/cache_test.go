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

	"github.com/google/go-cmp/cmp"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
)

func TestSlimRun(t *testing.T) {
	now := metav1.Now()
	done := apis.Condition{Type: apis.ConditionSucceeded, Status: corev1.ConditionTrue}
	owner := metav1.OwnerReference{APIVersion: "mlpipe.dev/v1alpha1", Kind: "PipelineSchedule", Name: "nightly", UID: "s1"}
	run := &v1.PipelineRun{
		ObjectMeta: metav1.ObjectMeta{
			Name: "churn-s3-ea355037ff69652c", Namespace: "ml", UID: "u1", ResourceVersion: "7", Generation: 2, CreationTimestamp: now,
			OwnerReferences: []metav1.OwnerReference{owner},
			Labels:          map[string]string{PipelineLabel: "churn"},
			Annotations:     map[string]string{"mlpipe.dev/s3-dedup-key": "d", "kubectl.kubernetes.io/last-applied-configuration": "{...}"},
			ManagedFields:   []metav1.ManagedFieldsEntry{{Manager: "kubectl"}},
		},
		Spec: v1.PipelineRunSpec{
			PipelineRef: &v1.PipelineRef{Name: "churn"}, Status: v1.PipelineRunSpecStatusCancelledRunFinally,
			Params: v1.Params{{Name: "data-uri", Value: *v1.NewStructuredValues("s3://datasets/churn/train.csv")}},
		},
		Status: v1.PipelineRunStatus{Status: duckv1.Status{Conditions: duckv1.Conditions{done}},
			PipelineRunStatusFields: v1.PipelineRunStatusFields{StartTime: &now, CompletionTime: &now, ChildReferences: []v1.ChildStatusReference{{Name: "tr"}}}},
	}
	got, err := SlimRun("mlpipe.dev/s3-dedup-key")(run)
	if err != nil {
		t.Fatal(err)
	}
	want := &v1.PipelineRun{
		ObjectMeta: metav1.ObjectMeta{
			Name: "churn-s3-ea355037ff69652c", Namespace: "ml", UID: "u1", ResourceVersion: "7", Generation: 2, CreationTimestamp: now,
			OwnerReferences: []metav1.OwnerReference{owner},
			Labels:          map[string]string{PipelineLabel: "churn"},
			Annotations:     map[string]string{"mlpipe.dev/s3-dedup-key": "d"},
		},
		Spec: v1.PipelineRunSpec{PipelineRef: &v1.PipelineRef{Name: "churn"}, Status: v1.PipelineRunSpecStatusCancelledRunFinally},
		Status: v1.PipelineRunStatus{Status: duckv1.Status{Conditions: duckv1.Conditions{done}},
			PipelineRunStatusFields: v1.PipelineRunStatusFields{StartTime: &now, CompletionTime: &now}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("SlimRun (-want +got):\n%s", diff)
	}
	// What the policy reads is unchanged: the slim run is done, as the full one.
	if !got.(*v1.PipelineRun).IsDone() || len(Active(RunsOf("churn", []*v1.PipelineRun{got.(*v1.PipelineRun)}))) != 0 {
		t.Error("the slim run is not done")
	}
}
