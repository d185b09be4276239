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
package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mlpipe/mlpipe/test/cluster"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	"knative.dev/pkg/apis"
)

// restrictedStep is the security context the restricted Pod Security profile asks of a container.
func restrictedStep() *corev1.SecurityContext {
	return &corev1.SecurityContext{
		RunAsNonRoot:             ptr.To(true),
		RunAsUser:                ptr.To[int64](65532),
		AllowPrivilegeEscalation: ptr.To(false),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

// TestRealNodeTaskRun runs a TaskRun on the real node in a restricted namespace: a script step on the shell
// image writes a file into a workspace and a result, a second step on the mlpipe-step image reads the file;
// a TaskRun whose step exits 3 fails with Tekton's own message. Tekton's entrypoint, init containers and result
// extraction all run for real.
func TestRealNodeTaskRun(t *testing.T) {
	c := realNode(t)
	ns := c.NewNamespace(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	task := v1.TaskSpec{
		Workspaces: []v1.WorkspaceDeclaration{{Name: "data"}},
		Results:    []v1.TaskResult{{Name: "greeting"}},
		Steps: []v1.Step{{
			Name:            "write",
			Image:           c.Images.Shell.Ref,
			SecurityContext: restrictedStep(),
			Script:          "#!/bin/sh\nset -eu\necho hello > $(workspaces.data.path)/hello.txt\nprintf 'hello from %s' \"$(id -u)\" > $(results.greeting.path)\n",
		}, {
			Name:            "read",
			Image:           c.Images.Step.Ref,
			SecurityContext: restrictedStep(),
			Command:         []string{"mlpipe-step", "--help"},
		}},
	}
	run := func(name string, spec v1.TaskSpec) *v1.TaskRun {
		t.Helper()
		tr := &v1.TaskRun{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: v1.TaskRunSpec{
				TaskSpec:   &spec,
				Workspaces: []v1.WorkspaceBinding{{Name: "data", EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			},
		}
		if _, err := c.Tekton.TektonV1().TaskRuns(ns).Create(ctx, tr, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		var got *v1.TaskRun
		if err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
			var err error
			got, err = c.Tekton.TektonV1().TaskRuns(ns).Get(ctx, name, metav1.GetOptions{})
			return err == nil && got.IsDone(), nil
		}); err != nil {
			t.Fatalf("TaskRun %s not done: %v; status %+v", name, err, got.Status.GetCondition(apis.ConditionSucceeded))
		}
		return got
	}

	start := time.Now()
	ok := run("hello", task)
	cond := ok.Status.GetCondition(apis.ConditionSucceeded)
	if !cond.IsTrue() {
		t.Fatalf("TaskRun hello: %s: %s", cond.Reason, cond.Message)
	}
	t.Logf("TaskRun hello succeeded in %s", time.Since(start).Round(time.Millisecond))
	var greeting string
	for _, r := range ok.Status.Results {
		if r.Name == "greeting" {
			greeting = r.Value.StringVal
		}
	}
	if greeting != "hello from 65532" {
		t.Errorf("result greeting = %q, want %q (written by the step, as user 65532)", greeting, "hello from 65532")
	}

	failing := task
	failing.Steps = []v1.Step{{Name: "fail", Image: c.Images.Shell.Ref, SecurityContext: restrictedStep(), Script: "#!/bin/sh\necho about to fail >&2\nexit 3\n"}}
	bad := run("fails", failing)
	cond = bad.Status.GetCondition(apis.ConditionSucceeded)
	if !cond.IsFalse() || !strings.Contains(cond.Message, "exited with code 3") {
		t.Errorf("TaskRun fails: %s %s: %s, want Failed with \"exited with code 3\"", cond.Status, cond.Reason, cond.Message)
	}
}

// TestRealNodeVolumeClaim: a claim without a storage class gets the default one and is bound to a volume the
// harness provisions, as the volumeClaimTemplate workspaces of generated runs need.
func TestRealNodeVolumeClaim(t *testing.T) {
	c := realNode(t)
	ns := c.NewNamespace(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "data", Namespace: ns},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}
	if _, err := c.Kube.CoreV1().PersistentVolumeClaims(ns).Create(ctx, pvc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var got *corev1.PersistentVolumeClaim
	var last error
	if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 45*time.Second, true, func(ctx context.Context) (bool, error) {
		got, last = c.Kube.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "data", metav1.GetOptions{})
		return last == nil && got.Status.Phase == corev1.ClaimBound, nil
	}); err != nil {
		pvs, _ := c.Kube.CoreV1().PersistentVolumes().List(ctx, metav1.ListOptions{})
		t.Fatalf("claim not bound: %v (last: %v); claim %+v; volumes %+v", err, last, got.Status, pvs.Items)
	}
	if got.Spec.StorageClassName == nil || *got.Spec.StorageClassName != cluster.StorageClassName {
		t.Errorf("claim's class = %v, want the default %s", got.Spec.StorageClassName, cluster.StorageClassName)
	}
}
