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
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	k8stesting "k8s.io/client-go/testing"
	testclock "k8s.io/utils/clock/testing"
	"sigs.k8s.io/yaml"
)

const testModelURI = "s3://models/churn/churn/v2/model.json"

// kubeOptions are the options of a kubernetes-target deploy of churn into serving.
func kubeOptions() *DeployOptions {
	return &DeployOptions{
		Target: TargetKubernetes, ModelURI: testModelURI, Name: "churn", Namespace: "serving", Image: "mlpipe-step:v1",
		Replicas: 2, S3Endpoint: "http://minio.storage:9000", S3Region: "us-east-1", S3SecretName: "s3-creds",
		Timeout: time.Minute,
	}
}

// TestRenderDeployment pins every field of the predictor Deployment.
func TestRenderDeployment(t *testing.T) {
	yes, no := true, false
	user, grace, replicas := int64(65532), int64(30), int32(2)
	zero, one := intstr.FromInt32(0), intstr.FromInt32(1)
	labels := map[string]string{"app.kubernetes.io/name": "churn", "app.kubernetes.io/managed-by": "mlpipe", "mlpipe.dev/predictor": "churn"}
	annotations := map[string]string{"mlpipe.dev/model-uri": testModelURI}
	secretKey := func(key string) *corev1.EnvVarSource {
		return &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "s3-creds"}, Key: key, Optional: &yes}}
	}
	probe := func(path string, period, failures int32) *corev1.Probe {
		return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromInt32(8080)}}, PeriodSeconds: period, FailureThreshold: failures}
	}
	want := &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: "churn", Namespace: "serving", Labels: labels, Annotations: annotations},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"mlpipe.dev/predictor": "churn"}},
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType, RollingUpdate: &appsv1.RollingUpdateDeployment{MaxUnavailable: &zero, MaxSurge: &one}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: annotations},
				Spec: corev1.PodSpec{
					AutomountServiceAccountToken:  &no,
					TerminationGracePeriodSeconds: &grace,
					SecurityContext:               &corev1.PodSecurityContext{RunAsNonRoot: &yes, RunAsUser: &user, SeccompProfile: &corev1.SeccompProfile{Type: "RuntimeDefault"}},
					Containers: []corev1.Container{{
						Name:            "predictor",
						Image:           "mlpipe-step:v1",
						ImagePullPolicy: corev1.PullIfNotPresent,
						Command:         []string{"mlpipe-step"},
						Args:            []string{"serve", "--model", testModelURI, "--name", "churn", "--addr", ":8080", "--drain-delay", "5s"},
						Ports:           []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: "TCP"}},
						Env: []corev1.EnvVar{
							{Name: "MLPIPE_ERROR_FILE", Value: "/dev/termination-log"},
							{Name: "AWS_ENDPOINT_URL", Value: "http://minio.storage:9000"},
							{Name: "AWS_REGION", Value: "us-east-1"},
							{Name: "AWS_ACCESS_KEY_ID", ValueFrom: secretKey("AWS_ACCESS_KEY_ID")},
							{Name: "AWS_SECRET_ACCESS_KEY", ValueFrom: secretKey("AWS_SECRET_ACCESS_KEY")},
						},
						StartupProbe:             probe("/v2/health/live", 2, 150),
						LivenessProbe:            probe("/v2/health/live", 10, 3),
						ReadinessProbe:           probe("/v2/health/ready", 2, 3),
						TerminationMessagePath:   "/dev/termination-log",
						TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
						SecurityContext: &corev1.SecurityContext{
							RunAsNonRoot: &yes, RunAsUser: &user, AllowPrivilegeEscalation: &no,
							Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}, SeccompProfile: &corev1.SeccompProfile{Type: "RuntimeDefault"},
						},
					}},
				},
			},
		},
	}
	if diff := cmp.Diff(want, RenderDeployment(kubeOptions())); diff != "" {
		t.Errorf("Deployment (-want +got):\n%s", diff)
	}
}

// TestRenderDeploymentOptions covers what the options add or leave out.
func TestRenderDeploymentOptions(t *testing.T) {
	tests := []struct {
		name  string
		opts  func(o *DeployOptions)
		check func(t *testing.T, d *appsv1.Deployment)
	}{{
		name: "no S3 settings: only the error file",
		opts: func(o *DeployOptions) { o.S3Endpoint, o.S3Region, o.S3SecretName = "", "", "" },
		check: func(t *testing.T, d *appsv1.Deployment) {
			want := []corev1.EnvVar{{Name: "MLPIPE_ERROR_FILE", Value: "/dev/termination-log"}}
			if diff := cmp.Diff(want, d.Spec.Template.Spec.Containers[0].Env); diff != "" {
				t.Errorf("env (-want +got):\n%s", diff)
			}
		},
	}, {
		name: "resources, replicas, service account and envFrom",
		opts: func(o *DeployOptions) {
			o.Replicas, o.ServiceAccount, o.EnvFromSecret = 3, "predictor", "extra-env"
			o.Resources = corev1.ResourceRequirements{Requests: corev1.ResourceList{"cpu": resource.MustParse("100m")}, Limits: corev1.ResourceList{"memory": resource.MustParse("256Mi")}}
		},
		check: func(t *testing.T, d *appsv1.Deployment) {
			c := d.Spec.Template.Spec.Containers[0]
			if got := c.Resources.Requests.Cpu().String() + "/" + c.Resources.Limits.Memory().String(); got != "100m/256Mi" {
				t.Errorf("resources = %s, want 100m/256Mi", got)
			}
			if *d.Spec.Replicas != 3 || d.Spec.Template.Spec.ServiceAccountName != "predictor" {
				t.Errorf("replicas %d, serviceAccountName %q", *d.Spec.Replicas, d.Spec.Template.Spec.ServiceAccountName)
			}
			if len(c.EnvFrom) != 1 || c.EnvFrom[0].SecretRef.Name != "extra-env" {
				t.Errorf("envFrom = %+v", c.EnvFrom)
			}
		},
	}, {
		name: "a new model is a new Pod template",
		opts: func(o *DeployOptions) { o.ModelURI = "s3://models/churn/churn/v3/model.json" },
		check: func(t *testing.T, d *appsv1.Deployment) {
			if got := d.Spec.Template.Annotations[ModelURIAnnotation]; got != "s3://models/churn/churn/v3/model.json" {
				t.Errorf("template annotation = %q", got)
			}
			if diff := cmp.Diff(RenderDeployment(kubeOptions()).Spec.Template, d.Spec.Template); diff == "" {
				t.Error("the Pod template did not change with the model")
			}
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := kubeOptions()
			tt.opts(o)
			tt.check(t, RenderDeployment(o))
		})
	}
}

func TestRenderService(t *testing.T) {
	want := &corev1.Service{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{Name: "churn", Namespace: "serving",
			Labels: map[string]string{"app.kubernetes.io/name": "churn", "app.kubernetes.io/managed-by": "mlpipe", "mlpipe.dev/predictor": "churn"}},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeClusterIP,
			Selector: map[string]string{"mlpipe.dev/predictor": "churn"},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080), Protocol: "TCP"}},
		},
	}
	if diff := cmp.Diff(want, RenderService(kubeOptions())); diff != "" {
		t.Errorf("Service (-want +got):\n%s", diff)
	}
}

// TestRenderKubernetesApplyBodies: what is applied carries no status and no empty creationTimestamp.
func TestRenderKubernetesApplyBodies(t *testing.T) {
	objs, err := RenderKubernetes(kubeOptions())
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, obj := range objs {
		kinds = append(kinds, obj.GetKind())
		data, _ := json.Marshal(obj.Object)
		for _, s := range []string{`"status"`, `"creationTimestamp"`} {
			if bytes.Contains(data, []byte(s)) {
				t.Errorf("%s apply body has %s: %s", obj.GetKind(), s, data)
			}
		}
	}
	if diff := cmp.Diff([]string{"Deployment", "Service"}, kinds); diff != "" {
		t.Errorf("kinds (-want +got):\n%s", diff)
	}
}

func TestParseResources(t *testing.T) {
	tests := []struct {
		name, in, want, wantErr string
	}{
		{name: "empty", in: "", want: "{}"},
		{name: "empty object", in: "{}", want: "{}"},
		{name: "requests and limits", in: `{"requests":{"cpu":"100m","memory":"64Mi"},"limits":{"memory":"256Mi"}}`,
			want: `{"limits":{"memory":"256Mi"},"requests":{"cpu":"100m","memory":"64Mi"}}`},
		{name: "not JSON", in: "cpu=1", wantErr: `invalid --resources "cpu=1": want JSON`},
		{name: "unknown field", in: `{"limit":{"cpu":"1"}}`, wantErr: `unknown field "limit"`},
		{name: "bad quantity", in: `{"limits":{"cpu":"lots"}}`, wantErr: "quantities must match"},
		{name: "request above limit", in: `{"requests":{"memory":"1Gi"},"limits":{"memory":"512Mi"}}`, wantErr: "the memory request 1Gi is above its limit 512Mi"},
		{name: "claims", in: `{"claims":[{"name":"gpu"}]}`, wantErr: "claims are not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseResources(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := mustJSON(t, r); got != tt.want {
				t.Errorf("ParseResources = %s, want %s", got, tt.want)
			}
		})
	}
}

// TestDeployKubernetesDryRun: the command prints both objects with the step's own S3 settings and writes the
// Service's endpoint.
func TestDeployKubernetesDryRun(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL_S3", "")
	t.Setenv("AWS_ENDPOINT_URL", "http://minio.storage:9000")
	t.Setenv("AWS_REGION", "eu-west-1")
	r := mustRun(t, "deploy", "--target=kubernetes", "--model-uri", testModelURI, "--name", "churn", "--namespace", "serving",
		"--image", "mlpipe-step:v1", "--replicas", "3", "--resources", `{"limits":{"memory":"256Mi"}}`, "--s3-secret-name", "s3-creds", "--dry-run")
	docs := strings.Split(r.stdout, "---\n")
	if len(docs) != 2 {
		t.Fatalf("want two YAML documents, got %d:\n%s", len(docs), r.stdout)
	}
	d := &appsv1.Deployment{}
	if err := yaml.UnmarshalStrict([]byte(docs[0]), d); err != nil {
		t.Fatalf("first document is not a Deployment: %v", err)
	}
	svc := &corev1.Service{}
	if err := yaml.UnmarshalStrict([]byte(docs[1]), svc); err != nil || svc.Kind != "Service" {
		t.Fatalf("second document is not a Service: %v", err)
	}
	o := kubeOptions()
	o.Replicas, o.S3Region = 3, "eu-west-1"
	o.Resources = corev1.ResourceRequirements{Limits: corev1.ResourceList{"memory": resource.MustParse("256Mi")}}
	if diff := cmp.Diff(RenderDeployment(o).Spec, d.Spec); diff != "" {
		t.Errorf("printed Deployment spec (-want +got):\n%s", diff)
	}
	if want := "http://churn.serving.svc.cluster.local/v2/models/churn/infer"; r.results["endpoint"] != want {
		t.Errorf("endpoint = %q, want %q", r.results["endpoint"], want)
	}
}

func TestDeployKubernetesInvalidFlags(t *testing.T) {
	tests := []struct {
		name    string
		flags   []string
		wantErr string
	}{
		{name: "unknown target", flags: []string{"--target=knative"}, wantErr: `invalid --target "knative": want kserve or kubernetes`},
		{name: "no replicas", flags: []string{"--target=kubernetes", "--replicas=0"}, wantErr: "--replicas must be between 1 and 2147483647, got 0"},
		{name: "bad resources", flags: []string{"--target=kubernetes", "--resources={"}, wantErr: "invalid --resources"},
		{name: "bad secret name", flags: []string{"--target=kubernetes", "--s3-secret-name=S3_Creds"}, wantErr: `invalid --s3-secret-name "S3_Creds"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runStep(t, append(append([]string(nil), deployArgs...), append(tt.flags, "--dry-run")...)...)
			if r.err == nil || !strings.Contains(r.err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want %q", r.err, tt.wantErr)
			}
		})
	}
}

// rolloutListKinds lets the dynamic fake list what deploy reads.
var rolloutListKinds = map[schema.GroupVersionResource]string{
	DeploymentGVR: "DeploymentList", ServiceGVR: "ServiceList", ReplicaSetGVR: "ReplicaSetList", PodGVR: "PodList",
}

// toObject converts a typed object into the unstructured form the dynamic fake stores.
func toObject(t *testing.T, obj runtime.Object, apiVersion, kind string) *unstructured.Unstructured {
	t.Helper()
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{Object: m}
	u.SetAPIVersion(apiVersion)
	u.SetKind(kind)
	return u
}

// rolloutState is the status of the churn Deployment in serving: generation and observed generation, desired,
// current, updated and available replicas, the revision and conditions.
type rolloutState struct {
	gen, observed                      int64
	want, replicas, updated, available int32
	revision                           string
	conditions                         []appsv1.DeploymentCondition
}

func deploymentObject(t *testing.T, s rolloutState) *unstructured.Unstructured {
	d := RenderDeployment(&DeployOptions{Name: "churn", Namespace: "serving", ModelURI: testModelURI, Image: "i", Replicas: int(s.want)})
	d.UID, d.Generation = "uid-churn", s.gen
	d.Annotations[revisionAnnotation] = s.revision
	d.Status = appsv1.DeploymentStatus{ObservedGeneration: s.observed, Replicas: s.replicas, UpdatedReplicas: s.updated, AvailableReplicas: s.available, Conditions: s.conditions}
	return toObject(t, d, "apps/v1", "Deployment")
}

func replicaSetObject(t *testing.T, hash, revision string) *unstructured.Unstructured {
	yes := true
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{
		Name: "churn-" + hash, Namespace: "serving",
		Labels:          map[string]string{NameLabel: "churn", PredictorLabel: "churn", podTemplateHash: hash},
		Annotations:     map[string]string{revisionAnnotation: revision},
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: "churn", UID: "uid-churn", Controller: &yes}},
	}}
	return toObject(t, rs, "apps/v1", "ReplicaSet")
}

func podObject(t *testing.T, name, hash, modelURI string, cs corev1.ContainerStatus) *unstructured.Unstructured {
	cs.Name = PredictorContainer
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "serving",
			Labels:      map[string]string{NameLabel: "churn", PredictorLabel: "churn", podTemplateHash: hash},
			Annotations: map[string]string{ModelURIAnnotation: modelURI}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{cs}},
	}
	return toObject(t, pod, "v1", "Pod")
}

var (
	running    = corev1.ContainerStatus{Ready: true, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}
	notReady   = corev1.ContainerStatus{State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}
	loadFailed = "error reading model: s3://models/churn/churn/v2/model.json: object does not exist"
	crashLoop  = corev1.ContainerStatus{
		State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: "back-off 10s restarting failed container"}},
		LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error", Message: loadFailed + "\n"}},
		RestartCount:         2,
	}
	// exited has the log tail the kubelet falls back to when the termination log stayed empty.
	exited = corev1.ContainerStatus{
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error", Message: "Error: " + loadFailed + "\n"}},
	}
	oomKilled = corev1.ContainerStatus{
		State:                corev1.ContainerState{Running: &corev1.ContainerStateRunning{}},
		LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 137, Reason: "OOMKilled"}},
		RestartCount:         1,
	}
	pullBackOff = corev1.ContainerStatus{State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: `Back-off pulling image "mlpipe-step:v2"`}}}
)

var (
	complete = rolloutState{gen: 2, observed: 2, want: 2, replicas: 2, updated: 2, available: 2, revision: "2"}
	rolling  = rolloutState{gen: 2, observed: 2, want: 2, replicas: 3, updated: 1, available: 2, revision: "2"}
)

// TestWaitRollout drives the rollout wait on a fake clock against the dynamic fake: each update is applied to
// the objects before the next poll.
func TestWaitRollout(t *testing.T) {
	type update func(t *testing.T, tracker k8stesting.ObjectTracker)
	setDeployment := func(s rolloutState) update {
		return func(t *testing.T, tracker k8stesting.ObjectTracker) {
			if err := tracker.Update(DeploymentGVR, deploymentObject(t, s), "serving"); err != nil {
				t.Fatal(err)
			}
		}
	}
	newRS, oldRS := func(t *testing.T) runtime.Object { return replicaSetObject(t, "7c9f", "2") }, func(t *testing.T) runtime.Object { return replicaSetObject(t, "5d8f", "1") }
	oldURI := "s3://models/churn/churn/v1/model.json"
	tests := []struct {
		name    string
		objects func(t *testing.T) []runtime.Object
		updates []update
		// wantPolls is how many times the clock must be stepped before the wait returns.
		wantPolls int
		wantErr   string
		wantLog   string
	}{{
		name:    "complete",
		objects: func(t *testing.T) []runtime.Object { return []runtime.Object{deploymentObject(t, complete), newRS(t)} },
	}, {
		name: "still rolling, then complete",
		objects: func(t *testing.T) []runtime.Object {
			return []runtime.Object{deploymentObject(t, rolling), oldRS(t), newRS(t),
				podObject(t, "churn-5d8f-aaaaa", "5d8f", oldURI, running), podObject(t, "churn-5d8f-bbbbb", "5d8f", oldURI, running),
				podObject(t, "churn-7c9f-ccccc", "7c9f", testModelURI, notReady)}
		},
		updates: []update{
			setDeployment(rolloutState{gen: 2, observed: 2, want: 2, replicas: 3, updated: 2, available: 2, revision: "2"}),
			setDeployment(complete),
		},
		wantPolls: 2,
		wantLog: "Deployment serving/churn: 1 of 2 replicas updated\n" +
			"Deployment serving/churn: 1 old replicas pending termination\n",
	}, {
		name: "applied generation not observed yet",
		objects: func(t *testing.T) []runtime.Object {
			return []runtime.Object{deploymentObject(t, rolloutState{gen: 3, observed: 2, want: 2, replicas: 2, updated: 2, available: 2, revision: "2"})}
		},
		updates:   []update{setDeployment(rolloutState{gen: 3, observed: 3, want: 2, replicas: 2, updated: 2, available: 2, revision: "2"})},
		wantPolls: 1,
		wantLog:   "Deployment serving/churn: waiting for the Deployment controller to observe generation 3 (observed 2)\n",
	}, {
		name: "crash-looping predictor: its own error, at once",
		objects: func(t *testing.T) []runtime.Object {
			return []runtime.Object{deploymentObject(t, rolling), oldRS(t), newRS(t),
				podObject(t, "churn-5d8f-aaaaa", "5d8f", oldURI, running), podObject(t, "churn-7c9f-ccccc", "7c9f", testModelURI, crashLoop)}
		},
		wantErr: "predictor churn-7c9f-ccccc: " + loadFailed,
	}, {
		name: "exited predictor: the log tail without cobra's prefix",
		objects: func(t *testing.T) []runtime.Object {
			return []runtime.Object{deploymentObject(t, rolling), newRS(t), podObject(t, "churn-7c9f-ccccc", "7c9f", testModelURI, exited)}
		},
		wantErr: "predictor churn-7c9f-ccccc: " + loadFailed,
	}, {
		name: "restarted after OOMKilled, not ready: exit code and reason",
		objects: func(t *testing.T) []runtime.Object {
			return []runtime.Object{deploymentObject(t, rolling), newRS(t), podObject(t, "churn-7c9f-ccccc", "7c9f", testModelURI, oomKilled),
				podObject(t, "churn-7c9f-ddddd", "7c9f", testModelURI, crashLoop)}
		},
		wantErr: "predictor churn-7c9f-ccccc: container predictor exited with code 137 (OOMKilled) (and 1 more failed predictor containers)",
	}, {
		name: "a crash-looping Pod of the old ReplicaSet is not the new version's",
		objects: func(t *testing.T) []runtime.Object {
			// Same model: only the ReplicaSet tells the old Pods from the new ones.
			return []runtime.Object{deploymentObject(t, rolling), oldRS(t), newRS(t),
				podObject(t, "churn-5d8f-aaaaa", "5d8f", testModelURI, crashLoop), podObject(t, "churn-7c9f-ccccc", "7c9f", testModelURI, notReady)}
		},
		updates:   []update{setDeployment(complete)},
		wantPolls: 1,
	}, {
		name: "no ReplicaSet yet: the new Pods by their model annotation",
		objects: func(t *testing.T) []runtime.Object {
			return []runtime.Object{deploymentObject(t, rolling),
				podObject(t, "churn-5d8f-aaaaa", "5d8f", oldURI, exited), podObject(t, "churn-7c9f-ccccc", "7c9f", testModelURI, crashLoop)}
		},
		wantErr: "predictor churn-7c9f-ccccc: " + loadFailed,
	}, {
		name: "progress deadline exceeded",
		objects: func(t *testing.T) []runtime.Object {
			s := rolling
			s.conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionFalse,
				Reason: "ProgressDeadlineExceeded", Message: `ReplicaSet "churn-7c9f" has timed out progressing.`}}
			return []runtime.Object{deploymentObject(t, s), newRS(t), podObject(t, "churn-7c9f-ccccc", "7c9f", testModelURI, notReady)}
		},
		wantErr: `Deployment serving/churn: ProgressDeadlineExceeded: ReplicaSet "churn-7c9f" has timed out progressing.; 1 of 2 replicas updated`,
	}, {
		name: "timeout, with what the new predictor waits for",
		objects: func(t *testing.T) []runtime.Object {
			return []runtime.Object{deploymentObject(t, rolloutState{gen: 1, observed: 1, want: 1, replicas: 1, updated: 1, revision: "1"}),
				replicaSetObject(t, "7c9f", "1"), podObject(t, "churn-7c9f-ccccc", "7c9f", testModelURI, pullBackOff)}
		},
		wantPolls: 5, // a minute at 12s
		wantErr: `Deployment serving/churn: rollout not complete within 1m0s: 0 of 1 updated replicas available; ` +
			`predictor churn-7c9f-ccccc: ImagePullBackOff: Back-off pulling image "mlpipe-step:v2"`,
	}, {
		name:      "the Deployment cannot be read: that is progress, until the timeout",
		objects:   func(t *testing.T) []runtime.Object { return nil },
		wantPolls: 5,
		wantErr:   `Deployment serving/churn: rollout not complete within 1m0s: error reading Deployment serving/churn: deployments.apps "churn" not found`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), rolloutListKinds, tt.objects(t)...)
			fc := testclock.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
			o := &DeployOptions{Name: "churn", Namespace: "serving", ModelURI: testModelURI, Timeout: time.Minute, PollInterval: 12 * time.Second, Clock: fc}
			var log bytes.Buffer
			errc := make(chan error, 1)
			go func() { errc <- waitRollout(context.Background(), client, o, &log) }()
			polls := 0
			for {
				select {
				case err := <-errc:
					if polls != tt.wantPolls {
						t.Errorf("returned after %d polls, want %d", polls, tt.wantPolls)
					}
					got := ""
					if err != nil {
						got = err.Error()
					}
					if got != tt.wantErr {
						t.Errorf("err = %q\nwant  %q", got, tt.wantErr)
					}
					if tt.wantLog != "" && log.String() != tt.wantLog {
						t.Errorf("log = %q\nwant  %q", log.String(), tt.wantLog)
					}
					return
				default:
				}
				if !fc.HasWaiters() {
					time.Sleep(time.Millisecond) // let the waiter reach its next poll
					continue
				}
				if polls < len(tt.updates) {
					tt.updates[polls](t, client.Tracker())
				}
				if polls++; polls > 10 {
					t.Fatal("still waiting after 10 polls")
				}
				fc.Step(o.PollInterval)
			}
		})
	}
}

// TestDeployKubernetesApply applies through the dynamic fake, whose stand-in controller completes the rollout
// of what was applied.
func TestDeployKubernetesApply(t *testing.T) {
	client := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), rolloutListKinds)
	var patches []k8stesting.PatchActionImpl
	client.PrependReactor("patch", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		pa := a.(k8stesting.PatchActionImpl)
		patches = append(patches, pa)
		obj := &unstructured.Unstructured{}
		if err := json.Unmarshal(pa.GetPatch(), &obj.Object); err != nil {
			return true, nil, err
		}
		if obj.GetKind() == "Deployment" {
			obj.SetGeneration(1)
			n := int64(kubeOptions().Replicas)
			_ = unstructured.SetNestedMap(obj.Object, map[string]any{"observedGeneration": int64(1), "replicas": n, "updatedReplicas": n, "availableReplicas": n}, "status")
		}
		return true, obj, client.Tracker().Add(obj)
	})
	o := kubeOptions()
	o.Clock = testclock.NewFakeClock(time.Now())
	var out, log bytes.Buffer
	var endpoint string
	errc := make(chan error, 1)
	go func() {
		var err error
		endpoint, err = Deploy(context.Background(), o, client, &out, &log)
		errc <- err
	}()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("Deploy: %v\n%s", err, log.String())
		}
	case <-time.After(30 * time.Second): // a guard only: the fake clock never moves, the first poll must see the rollout done
		t.Fatalf("Deploy still waiting for the rollout it was shown complete")
	}
	if want := "http://churn.serving.svc.cluster.local/v2/models/churn/infer"; endpoint != want {
		t.Errorf("endpoint = %q, want %q", endpoint, want)
	}
	if out.Len() != 0 {
		t.Errorf("applied, but printed:\n%s", out.String())
	}
	want, err := RenderKubernetes(kubeOptions())
	if err != nil {
		t.Fatal(err)
	}
	if len(patches) != len(want) {
		t.Fatalf("%d patches, want %d", len(patches), len(want))
	}
	for i, pa := range patches {
		wantBody, _ := json.Marshal(want[i].Object)
		if pa.GetResource().Resource != []string{"deployments", "services"}[i] || pa.GetNamespace() != "serving" || pa.GetName() != "churn" {
			t.Errorf("patch %d: %s %s/%s", i, pa.GetResource().Resource, pa.GetNamespace(), pa.GetName())
		}
		if pa.GetPatchType() != types.ApplyPatchType || pa.PatchOptions.FieldManager != "mlpipe" || pa.PatchOptions.Force == nil || !*pa.PatchOptions.Force {
			t.Errorf("patch %d: type %s, options %+v; want a forced server-side apply by mlpipe", i, pa.GetPatchType(), pa.PatchOptions)
		}
		if !bytes.Equal(pa.GetPatch(), wantBody) {
			t.Errorf("patch %d body = %s\nwant %s", i, pa.GetPatch(), wantBody)
		}
	}
}

// yamlKinds returns the kind of each document of a multi-document YAML stream.
func yamlKinds(t *testing.T, s string) []string {
	t.Helper()
	var kinds []string
	for _, doc := range strings.Split(s, "---\n") {
		var obj map[string]any
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			t.Fatalf("not YAML: %v\n%s", err, doc)
		}
		kind, _ := obj["kind"].(string)
		kinds = append(kinds, kind)
	}
	return kinds
}

// TestInferenceServiceS3Env: the KServe predictor gets the same S3 settings and error file as the Deployment's.
func TestInferenceServiceS3Env(t *testing.T) {
	o := kubeOptions()
	o.Target = TargetKServe
	containers, _, _ := unstructured.NestedSlice(RenderInferenceService(o).Object, "spec", "predictor", "containers")
	if len(containers) != 1 {
		t.Fatalf("containers = %v", containers)
	}
	want := toUnstructuredList(RenderDeployment(kubeOptions()).Spec.Template.Spec.Containers[0].Env)
	if diff := cmp.Diff(want, containers[0].(map[string]any)["env"]); diff != "" {
		t.Errorf("InferenceService predictor env (-want +got):\n%s", diff)
	}
}
