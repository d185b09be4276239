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
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	versioned "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	"github.com/tektoncd/pipeline/pkg/client/clientset/versioned/fake"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"
)

// patches lists the PipelineRun patches the fake client received as "namespace/name type body".
func patches(client *fake.Clientset) []string {
	var out []string
	for _, a := range client.Actions() {
		if p, ok := a.(k8stesting.PatchAction); ok && a.GetResource().Resource == "pipelineruns" {
			out = append(out, a.GetNamespace()+"/"+p.GetName()+" "+string(p.GetPatchType())+" "+string(p.GetPatch()))
		}
	}
	return out
}

func TestCancelPatchesCancelledRunFinally(t *testing.T) {
	if got, want := string(CancelPatch), `{"spec":{"status":"CancelledRunFinally"}}`; got != want {
		t.Errorf("CancelPatch = %s, want %s", got, want)
	}
	a := &v1.PipelineRun{ObjectMeta: metav1.ObjectMeta{Name: "churn-a", Namespace: "ml"}}
	gone := &v1.PipelineRun{ObjectMeta: metav1.ObjectMeta{Name: "churn-gone", Namespace: "ml"}}
	client := fake.NewSimpleClientset(a)
	if err := Cancel(context.Background(), client, []*v1.PipelineRun{a, gone}); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	want := []string{
		`ml/churn-a application/merge-patch+json {"spec":{"status":"CancelledRunFinally"}}`,
		`ml/churn-gone application/merge-patch+json {"spec":{"status":"CancelledRunFinally"}}`,
	}
	if diff := cmp.Diff(want, patches(client)); diff != "" {
		t.Errorf("patches (-want +got):\n%s", diff)
	}
	got, err := client.TektonV1().PipelineRuns("ml").Get(context.Background(), "churn-a", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Spec.Status != v1.PipelineRunSpecStatusCancelledRunFinally {
		t.Errorf("spec.status = %q, want %q", got.Spec.Status, v1.PipelineRunSpecStatusCancelledRunFinally)
	}
}

func TestCancelErrors(t *testing.T) {
	a := &v1.PipelineRun{ObjectMeta: metav1.ObjectMeta{Name: "churn-a", Namespace: "ml"}}
	failing := fake.NewSimpleClientset(a)
	failing.PrependReactor("patch", "pipelineruns", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewServiceUnavailable("etcd is away")
	})
	tests := []struct {
		name   string
		client versioned.Interface
		want   string
	}{
		{name: "no client", want: "no Tekton client"},
		{name: "patch fails", client: failing, want: "error cancelling PipelineRun ml/churn-a: etcd is away"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Cancel(context.Background(), tt.client, []*v1.PipelineRun{a}); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Cancel() = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
