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

package resume

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/client/clientset/versioned/fake"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
)

func withCondition(pr *v1.PipelineRun, status corev1.ConditionStatus, reason string) *v1.PipelineRun {
	pr.Status.Status = duckv1.Status{Conditions: duckv1.Conditions{{Type: apis.ConditionSucceeded, Status: status, Reason: reason}}}
	return pr
}

func failedRun() *v1.PipelineRun {
	pr := &v1.PipelineRun{
		ObjectMeta: metav1.ObjectMeta{
			Name: "churn-29112840", Namespace: "ml",
			Labels: map[string]string{
				"tekton.dev/pipeline": "churn", "mlpipe.dev/schedule": "nightly", "mlpipe.dev/trigger": "schedule",
				"team": "fraud", "app.kubernetes.io/name": "churn",
			},
			Annotations: map[string]string{
				"mlpipe.dev/scheduled-time": "2026-05-08T02:00:00Z", "mlpipe.dev/cache": "true", "owner": "ana",
			},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "mlpipe.dev/v1alpha1", Kind: "PipelineSchedule", Name: "nightly", UID: "u1"}},
		},
		Spec: v1.PipelineRunSpec{
			PipelineRef: &v1.PipelineRef{Name: "churn"},
			Params:      v1.Params{{Name: "epochs", Value: *v1.NewStructuredValues("80")}, {Name: "data-uri", Value: *v1.NewStructuredValues("s3://datasets/churn/train.csv")}},
			Workspaces: []v1.WorkspaceBinding{
				{Name: "artifacts", VolumeClaimTemplate: &corev1.PersistentVolumeClaim{Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}}}},
				{Name: "shared", PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "ml-data"}},
			},
			TaskRunTemplate: v1.PipelineTaskRunTemplate{ServiceAccountName: "churn-runner"},
			Timeouts:        &v1.TimeoutFields{Pipeline: &metav1.Duration{Duration: 7200e9}},
			Status:          v1.PipelineRunSpecStatusCancelled,
		},
	}
	return withCondition(pr, corev1.ConditionFalse, "Cancelled")
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name string
		pr   *v1.PipelineRun
		want string // substring of the error; empty: resumable
	}{
		{"failed", withCondition(failedRun(), corev1.ConditionFalse, "Failed"), ""},
		{"timed out", withCondition(failedRun(), corev1.ConditionFalse, "PipelineRunTimeout"), ""},
		{"cancelled", failedRun(), ""},
		{"running", withCondition(failedRun(), corev1.ConditionUnknown, "Running"), "still running (Succeeded=Unknown, reason Running)"},
		{"not started", &v1.PipelineRun{ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: "ml"}}, "still running (it has not started yet)"},
		{"pending", &v1.PipelineRun{ObjectMeta: metav1.ObjectMeta{Name: "x"}, Spec: v1.PipelineRunSpec{Status: v1.PipelineRunSpecStatusPending}}, "is pending"},
		{"succeeded", withCondition(failedRun(), corev1.ConditionTrue, "Succeeded"), "succeeded (Succeeded): there is nothing to resume"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(tt.pr)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Check() = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Check() = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestMake(t *testing.T) {
	orig := failedRun()
	pipelineMeta := &metav1.ObjectMeta{
		Labels:      map[string]string{"app.kubernetes.io/name": "churn"},
		Annotations: map[string]string{"mlpipe.dev/cache": "true"},
	}
	got := Make(orig, pipelineMeta, 2)
	if got.Name != "churn-29112840-resume-2" || got.Namespace != "ml" || got.GenerateName != "" {
		t.Errorf("name %q/%q (generateName %q), want ml/churn-29112840-resume-2", got.Namespace, got.Name, got.GenerateName)
	}
	wantLabels := map[string]string{"team": "fraud", ResumesLabel: "churn-29112840"}
	if diff := cmp.Diff(wantLabels, got.Labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"owner": "ana"}, got.Annotations); diff != "" {
		t.Errorf("annotations (-want +got):\n%s", diff)
	}
	if len(got.OwnerReferences) != 0 {
		t.Errorf("the resume is owned by %v: a schedule would count it as one of its slots' runs", got.OwnerReferences)
	}
	want := failedRun().Spec
	want.Status = ""
	if diff := cmp.Diff(want, got.Spec); diff != "" {
		t.Errorf("spec (-want +got):\n%s", diff)
	}
	if orig.Spec.Status != v1.PipelineRunSpecStatusCancelled || orig.Labels[ResumesLabel] != "" {
		t.Errorf("Make changed the original run: %+v", orig.ObjectMeta)
	}
	// Without the Pipeline, what Tekton copied from it is kept.
	if got := Make(orig, nil, 1); got.Labels["app.kubernetes.io/name"] != "churn" || got.Annotations["mlpipe.dev/cache"] != "true" {
		t.Errorf("without the Pipeline's metadata labels %v annotations %v, want app.kubernetes.io/name and mlpipe.dev/cache kept", got.Labels, got.Annotations)
	}
}

func TestNameLength(t *testing.T) {
	long := strings.Repeat("a", 60)
	n1, n2 := Name(long, 1), Name(long, 2)
	if len(n1) > 63 || len(n2) > 63 || n1 == n2 {
		t.Errorf("Name(60 chars, 1) = %q (%d), Name(…, 2) = %q (%d): want distinct names of at most 63 characters", n1, len(n1), n2, len(n2))
	}
}

func TestCreateNextName(t *testing.T) {
	orig := failedRun()
	// One earlier resume exists (labelled), and someone else holds the next name without the label.
	earlier := Make(orig, nil, 1)
	squatter := &v1.PipelineRun{ObjectMeta: metav1.ObjectMeta{Name: "churn-29112840-resume-2", Namespace: "ml"}}
	tc := fake.NewSimpleClientset(orig, earlier, squatter)
	got, err := Create(context.Background(), tc, orig, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "churn-29112840-resume-3" {
		t.Errorf("created %s, want churn-29112840-resume-3 (resume-1 is an earlier resume, resume-2 is taken)", got.Name)
	}
	if _, err := tc.TektonV1().PipelineRuns("ml").Get(context.Background(), got.Name, metav1.GetOptions{}); err != nil {
		t.Errorf("the resume was not created: %v", err)
	}
}

func task(name string, succeeded corev1.ConditionStatus, cache string) *v1.TaskRun {
	tr := &v1.TaskRun{ObjectMeta: metav1.ObjectMeta{Name: "churn-29112840-" + name, Namespace: "ml",
		Labels: map[string]string{"tekton.dev/pipelineRun": "churn-29112840", "tekton.dev/pipelineTask": name}}}
	tr.Status.Status = duckv1.Status{Conditions: duckv1.Conditions{{Type: apis.ConditionSucceeded, Status: succeeded, Reason: "R" + name}}}
	if cache != "" {
		tr.Status.Results = []v1.TaskRunResult{{Name: "cache", Value: *v1.NewStructuredValues(cache)}}
	}
	return tr
}

func TestTasksAndUncached(t *testing.T) {
	tests := []struct {
		name     string
		taskRuns []*v1.TaskRun
		want     string // Uncached
	}{
		{"preprocess stored an entry", []*v1.TaskRun{task("preprocess", corev1.ConditionTrue, "miss"), task("train", corev1.ConditionFalse, "miss")}, ""},
		{"preprocess was a hit", []*v1.TaskRun{task("preprocess", corev1.ConditionTrue, "hit"), task("train", corev1.ConditionFalse, "")}, ""},
		{"first task failed", []*v1.TaskRun{task("preprocess", corev1.ConditionFalse, "off")}, ""},
		{"cache off", []*v1.TaskRun{task("preprocess", corev1.ConditionTrue, "off"), task("train", corev1.ConditionTrue, ""), task("evaluate", corev1.ConditionFalse, "off")},
			"no task that finished used the cache (preprocess: cache=off, train: no cache result)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tc := fake.NewSimpleClientset()
			for _, tr := range append(tt.taskRuns, &v1.TaskRun{ObjectMeta: metav1.ObjectMeta{Name: "other", Namespace: "ml",
				Labels: map[string]string{"tekton.dev/pipelineRun": "another-run", "tekton.dev/pipelineTask": "preprocess"}}}) {
				if _, err := tc.TektonV1().TaskRuns("ml").Create(context.Background(), tr, metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			tasks, err := Tasks(context.Background(), tc, failedRun())
			if err != nil {
				t.Fatal(err)
			}
			if len(tasks) != len(tt.taskRuns) {
				t.Errorf("Tasks() = %+v, want the %d TaskRuns of churn-29112840 only", tasks, len(tt.taskRuns))
			}
			if got := Uncached(tasks); got != tt.want {
				t.Errorf("Uncached() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestWorkspaces(t *testing.T) {
	got := Workspaces(failedRun())
	if len(got) != 2 || !strings.HasPrefix(got[0], "workspace artifacts: a new claim") || !strings.HasPrefix(got[1], "workspace shared: the same claim ml-data") {
		t.Errorf("Workspaces() = %q, want a new claim for artifacts and the same claim ml-data for shared", got)
	}
}
