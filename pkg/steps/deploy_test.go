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
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mlpipe/mlpipe/pkg/clusteraccess"
	"github.com/mlpipe/mlpipe/pkg/clusteraccess/clusteraccesstest"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	k8stesting "k8s.io/client-go/testing"
	"sigs.k8s.io/yaml"
)

func TestDeployDryRun(t *testing.T) {
	r := mustRun(t, "deploy", "--model-uri", "s3://models/churn/v3/model.json", "--name", "churn", "--namespace", "serving",
		"--image", "mlpipe-step:v1", "--canary-percent", "10", "--env-from-secret", "s3-creds", "--dry-run")
	var obj map[string]any
	if err := yaml.Unmarshal([]byte(r.stdout), &obj); err != nil {
		t.Fatalf("dry-run output is not YAML: %v\n%s", err, r.stdout)
	}
	u := &unstructured.Unstructured{Object: obj}
	if u.GetAPIVersion() != "serving.kserve.io/v1beta1" || u.GetKind() != "InferenceService" || u.GetNamespace() != "serving" {
		t.Errorf("object = %s %s %s", u.GetAPIVersion(), u.GetKind(), u.GetNamespace())
	}
	containers, _, _ := unstructured.NestedSlice(obj, "spec", "predictor", "containers")
	if len(containers) != 1 {
		t.Fatalf("containers = %v", containers)
	}
	c := containers[0].(map[string]any)
	if c["image"] != "mlpipe-step:v1" {
		t.Errorf("image = %v", c["image"])
	}
	wantArgs := "mlpipe-step serve --model s3://models/churn/v3/model.json --name churn --addr :8080"
	var got []string
	for _, a := range append(c["command"].([]any), c["args"].([]any)...) {
		got = append(got, a.(string))
	}
	if strings.Join(got, " ") != wantArgs {
		t.Errorf("command = %q, want %q", strings.Join(got, " "), wantArgs)
	}
	if pct, _, _ := unstructured.NestedFieldNoCopy(obj, "spec", "predictor", "canaryTrafficPercent"); pct != float64(10) {
		t.Errorf("canaryTrafficPercent = %d", pct)
	}
	if r.results["endpoint"] != "http://churn.serving.svc.cluster.local/v2/models/churn/infer" {
		t.Errorf("endpoint = %q", r.results["endpoint"])
	}
}

// TestDeployApply applies through a fake dynamic client whose "controller" marks the service Ready.
func TestDeployApply(t *testing.T) {
	tests := []struct {
		name  string
		ready bool
		// failedLoad makes the status KServe writes when the predictor container exits before it is ready.
		failedLoad bool
		// crashPod lists a crash-looping predictor Pod before KServe noticed.
		crashPod  bool
		wantURL   string
		wantError string
	}{
		{name: "becomes ready", ready: true, wantURL: "http://churn.serving.example.com"},
		{name: "times out", ready: false, wantError: "not Ready within"},
		{name: "predictor crash-loops", ready: false, crashPod: true,
			wantError: `InferenceService serving/churn: the predictor cannot load the model: predictor churn-predictor-new: open /m/model.json: no such file or directory`},
		{name: "predictor cannot load", ready: false, failedLoad: true,
			wantError: `InferenceService serving/churn: the predictor cannot load the model: exit code 1: error loading s3://models/churn/v9/model.json: NoSuchKey`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			scheme := runtime.NewScheme()
			client := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(scheme,
				map[schema.GroupVersionResource]string{InferenceServiceGVR: "InferenceServiceList", PodGVR: "PodList"})
			if tt.crashPod {
				// KServe's predictor Pod of this model, crash-looping on the model it cannot load; the Pod of
				// another model (an older version) does not count.
				pod := func(name, uri string) *corev1.Pod {
					return &corev1.Pod{
						TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
						ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "serving",
							Labels: map[string]string{"serving.kserve.io/inferenceservice": "churn"}, Annotations: map[string]string{ModelURIAnnotation: uri}},
						Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{Name: "kserve-container",
							State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
							LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Message: "open /m/model.json: no such file or directory\n"}},
						}}},
					}
				}
				for _, p := range []*corev1.Pod{pod("churn-predictor-new", "file:///m/model.json"), pod("churn-predictor-old", "file:///m/v1.json")} {
					u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(p)
					if err != nil {
						t.Fatal(err)
					}
					if _, err := client.Resource(PodGVR).Namespace("serving").Create(context.Background(), &unstructured.Unstructured{Object: u}, metav1.CreateOptions{}); err != nil {
						t.Fatal(err)
					}
				}
			}
			var applied []byte
			client.PrependReactor("patch", "inferenceservices", func(a k8stesting.Action) (bool, runtime.Object, error) {
				pa := a.(k8stesting.PatchAction)
				applied = pa.GetPatch()
				return true, &unstructured.Unstructured{}, nil
			})
			client.PrependReactor("get", "inferenceservices", func(k8stesting.Action) (bool, runtime.Object, error) {
				u := RenderInferenceService(&DeployOptions{Name: "churn", Namespace: "serving", Image: "i", ModelURI: "m"})
				status := "False"
				if tt.ready {
					status = "True"
				}
				_ = unstructured.SetNestedField(u.Object, map[string]any{
					"url":        "http://churn.serving.example.com",
					"conditions": []any{map[string]any{"type": "Ready", "status": status, "reason": "RevisionMissing", "message": "pulling"}},
				}, "status")
				if tt.failedLoad {
					_ = unstructured.SetNestedField(u.Object, map[string]any{
						"transitionStatus": "BlockedByFailedLoad",
						"lastFailureInfo": map[string]any{"reason": "ModelLoadFailed", "exitCode": int64(1),
							"message": "error loading s3://models/churn/v9/model.json: NoSuchKey\n"},
					}, "status", "modelStatus")
				}
				return true, u, nil
			})
			o := &DeployOptions{ModelURI: "file:///m/model.json", Name: "churn", Namespace: "serving", Image: "img",
				Timeout: 300 * time.Millisecond, PollInterval: 20 * time.Millisecond}
			url, err := Deploy(context.Background(), o, client, io.Discard, io.Discard)
			if tt.failedLoad || tt.crashPod {
				if err == nil || err.Error() != tt.wantError {
					t.Errorf("err = %v, want %q", err, tt.wantError)
				}
			} else if tt.wantError != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantError) || !strings.Contains(err.Error(), "pulling") {
					t.Errorf("err = %v, want %q with the last condition", err, tt.wantError)
				}
			} else if err != nil || url != tt.wantURL {
				t.Errorf("Deploy = %q, %v; want %q", url, err, tt.wantURL)
			}
			if !bytes.Contains(applied, []byte(`"kind":"InferenceService"`)) {
				t.Errorf("applied patch = %s", applied)
			}
			var patchActions int
			for _, a := range client.Actions() {
				if pa, ok := a.(k8stesting.PatchAction); ok {
					patchActions++
					if pa.GetPatchType() != "application/apply-patch+yaml" {
						t.Errorf("patch type = %s, want server-side apply", pa.GetPatchType())
					}
				}
			}
			if patchActions != 1 {
				t.Errorf("%d patch actions", patchActions)
			}
		})
	}
}

// deployArgs are the flags every cluster-access case passes; the cases add --dry-run.
var deployArgs = []string{"deploy", "--model-uri", "file:///m/model.json", "--name", "churn", "--namespace", "serving", "--image", "img", "--timeout", "2s"}

// setupCluster points KUBECONFIG at a recording API server, outside any Pod, with access as MLPIPE_CLUSTER_ACCESS.
func setupCluster(t *testing.T, access clusteraccess.Access) *clusteraccesstest.APIServer {
	t.Helper()
	srv := clusteraccesstest.NewAPIServer(t)
	t.Setenv("KUBECONFIG", srv.Kubeconfig)
	t.Setenv("KUBERNETES_SERVICE_HOST", "") // not in a Pod, even when the tests run in one
	t.Setenv(clusteraccess.EnvVar, string(access))
	return srv
}

// TestDeployPrintsWithoutContactingCluster: with a kubeconfig naming a live API server, deploy contacts it only
// when asked in words; otherwise it prints the InferenceService and says it did not apply it.
func TestDeployPrintsWithoutContactingCluster(t *testing.T) {
	tests := []struct {
		name       string
		access     clusteraccess.Access
		flags      []string
		wantStderr string
		// wantKinds are the kinds of the printed YAML documents; nil means the InferenceService.
		wantKinds []string
	}{
		{name: "auto outside a pod", wantStderr: "not in a Pod: printed the InferenceService, did NOT apply it; --dry-run=false applies"},
		{name: "local run, auto", access: clusteraccess.None, wantStderr: "local run: printed, not applied; `mlpipe run --deploy-to-cluster`"},
		{name: "local run, --dry-run=false", access: clusteraccess.None, flags: []string{"--dry-run=false"}, wantStderr: "local run: printed, not applied"},
		{name: "--dry-run", access: clusteraccess.Kubeconfig, flags: []string{"--dry-run"}, wantStderr: "did NOT apply"},
		{name: "kubernetes, auto outside a pod", flags: []string{"--target=kubernetes"},
			wantStderr: "not in a Pod: printed the Deployment and the Service, did NOT apply it", wantKinds: []string{"Deployment", "Service"}},
		{name: "kubernetes, local run, --dry-run=false", access: clusteraccess.None, flags: []string{"--target=kubernetes", "--dry-run=false"},
			wantStderr: "local run: printed, not applied", wantKinds: []string{"Deployment", "Service"}},
		{name: "kubernetes, --dry-run", access: clusteraccess.Kubeconfig, flags: []string{"--target", "kubernetes", "--dry-run"},
			wantStderr: "--dry-run: printed the Deployment and the Service, did NOT apply it", wantKinds: []string{"Deployment", "Service"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := setupCluster(t, tt.access)
			r := mustRun(t, append(deployArgs, tt.flags...)...)
			if got := srv.Requests(); len(got) != 0 {
				t.Errorf("the API server got %d requests, want none: %v", len(got), got)
			}
			wantKinds := tt.wantKinds
			if wantKinds == nil {
				wantKinds = []string{"InferenceService"}
			}
			if diff := cmp.Diff(wantKinds, yamlKinds(t, r.stdout)); diff != "" {
				t.Errorf("printed kinds (-want +got):\n%s\n%s", diff, r.stdout)
			}
			if !strings.Contains(r.stderr, tt.wantStderr) {
				t.Errorf("stderr = %q, want it to contain %q", r.stderr, tt.wantStderr)
			}
			if want := "http://churn.serving.svc.cluster.local/v2/models/churn/infer"; r.results["endpoint"] != want {
				t.Errorf("endpoint = %q, want the predicted %q", r.results["endpoint"], want)
			}
		})
	}
}

// TestDeployContactsClusterWhenAsked proves the recording server sees an apply, so the test above can fail.
func TestDeployContactsClusterWhenAsked(t *testing.T) {
	const isvc = "PATCH /apis/serving.kserve.io/v1beta1/namespaces/serving/inferenceservices/churn"
	const deployment = "PATCH /apis/apps/v1/namespaces/serving/deployments/churn"
	tests := []struct {
		name             string
		access           clusteraccess.Access
		flags            []string
		wantErr, wantReq string
	}{
		{name: "--dry-run=false", flags: []string{"--dry-run=false"}, wantErr: "error applying InferenceService serving/churn", wantReq: isvc},
		{name: "mlpipe run --deploy-to-cluster, auto", access: clusteraccess.Kubeconfig, wantErr: "error applying InferenceService serving/churn", wantReq: isvc},
		{name: "kubernetes, --dry-run=false", flags: []string{"--target=kubernetes", "--dry-run=false"}, wantErr: "error applying Deployment serving/churn", wantReq: deployment},
		{name: "kubernetes, mlpipe run --deploy-to-cluster", access: clusteraccess.Kubeconfig, flags: []string{"--target=kubernetes"}, wantErr: "error applying Deployment serving/churn", wantReq: deployment},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := setupCluster(t, tt.access)
			r := runStep(t, append(deployArgs, tt.flags...)...)
			if r.err == nil || !strings.Contains(r.err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want the refused apply %q", r.err, tt.wantErr)
			}
			want := tt.wantReq
			if got := srv.Requests(); !slices.Contains(got, want) {
				t.Errorf("requests = %v, want %q", got, want)
			}
		})
	}
}

func TestDeployClusterAccessInvalid(t *testing.T) {
	srv := setupCluster(t, "yes")
	r := runStep(t, append(deployArgs, "--dry-run=false")...)
	if r.err == nil || !strings.Contains(r.err.Error(), "invalid MLPIPE_CLUSTER_ACCESS") {
		t.Errorf("err = %v, want invalid MLPIPE_CLUSTER_ACCESS", r.err)
	}
	if got := srv.Requests(); len(got) != 0 {
		t.Errorf("requests = %v, want none", got)
	}
}

// TestApplyDecision covers the rule in a Pod too, which the command tests above cannot reach.
func TestApplyDecision(t *testing.T) {
	tests := []struct {
		mode   string
		access clusteraccess.Access
		inPod  bool
		want   bool
	}{
		{mode: "auto", want: false},
		{mode: "auto", inPod: true, want: true},
		{mode: "auto", access: clusteraccess.Kubeconfig, want: true},
		{mode: "auto", access: clusteraccess.None, inPod: true, want: false},
		{mode: "false", want: true},
		{mode: "false", access: clusteraccess.None, inPod: true, want: false},
		{mode: "true", access: clusteraccess.Kubeconfig, inPod: true, want: false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/access=%q/inPod=%t", tt.mode, tt.access, tt.inPod), func(t *testing.T) {
			apply, why, err := applyDecision(tt.mode, tt.access, tt.inPod, "the InferenceService")
			if err != nil || apply != tt.want || (why == "") == !apply {
				t.Errorf("applyDecision = %t, %q, %v; want %t, and a reason exactly when not applying", apply, why, err, tt.want)
			}
		})
	}
}
