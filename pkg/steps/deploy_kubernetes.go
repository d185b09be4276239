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
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"
)

// The resources the kubernetes target applies (Deployment, Service) and reads while it waits (ReplicaSets, Pods).
var (
	// DeploymentGVR is apps/v1 deployments.
	DeploymentGVR = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	// ServiceGVR is v1 services.
	ServiceGVR = schema.GroupVersionResource{Version: "v1", Resource: "services"}
	// ReplicaSetGVR is apps/v1 replicasets.
	ReplicaSetGVR = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "replicasets"}
	// PodGVR is v1 pods.
	PodGVR = schema.GroupVersionResource{Version: "v1", Resource: "pods"}
)

// Labels and annotations of the predictor's objects.
const (
	// NameLabel names the served model on the objects deploy applies.
	NameLabel = "app.kubernetes.io/name"
	// PredictorLabel selects the predictor's Pods: the Deployment's selector and the Service's. Not NameLabel:
	// Tekton copies the Pipeline's labels (app.kubernetes.io/name: <pipeline>) onto every step Pod of its runs,
	// so a Service selecting on it would route requests to the pipeline's own Pods (seen on the real node).
	PredictorLabel = "mlpipe.dev/predictor"
	// ManagedByLabel says mlpipe applied the object.
	ManagedByLabel = "app.kubernetes.io/managed-by"
	// ModelURIAnnotation records the served model on the objects and on the Pod template: a new model is a new
	// template, hence a new ReplicaSet and a rolling update.
	ModelURIAnnotation = "mlpipe.dev/model-uri"
)

const (
	// PredictorPort is the port mlpipe-step serve listens on in the predictor container.
	PredictorPort = 8080
	// ServicePort is the Service's port: the endpoint URL needs none.
	ServicePort = 80
	// PredictorContainer names the predictor's container.
	PredictorContainer = "predictor"
	// predictorUser is the step image's non-root user.
	predictorUser = 65532
	// drainDelay keeps a terminating predictor answering while the Service stops routing to it: serve's
	// --drain-delay. With the shutdown timeout (20s) it stays within the grace period.
	drainDelay = "5s"
	// terminationGracePeriod bounds the drain plus the graceful shutdown.
	terminationGracePeriod = 30
	// terminationLog is where a failing predictor writes its error ($MLPIPE_ERROR_FILE); the kubelet copies it
	// into the container's terminated state, and deploy quotes it.
	terminationLog = "/dev/termination-log"
)

// ServiceEndpoint is the in-cluster Open Inference Protocol v2 infer URL of model name served by the Service
// name in namespace.
func ServiceEndpoint(name, namespace string) string {
	return fmt.Sprintf("http://%s.%s.svc.cluster.local/v2/models/%s/infer", name, namespace, name)
}

// ParseResources decodes --resources, a corev1.ResourceRequirements as JSON ({"requests":{…},"limits":{…}});
// empty means none. Unknown fields, claims and requests above their limits are errors.
func ParseResources(s string) (corev1.ResourceRequirements, error) {
	var r corev1.ResourceRequirements
	if strings.TrimSpace(s) == "" {
		return r, nil
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return r, fmt.Errorf("invalid --resources %q: want JSON such as {\"requests\":{\"cpu\":\"100m\"},\"limits\":{\"memory\":\"256Mi\"}}: %w", s, err)
	}
	var errs []error
	if len(r.Claims) > 0 {
		errs = append(errs, fmt.Errorf("invalid --resources %q: claims are not supported", s))
	}
	for name, req := range r.Requests {
		if lim, ok := r.Limits[name]; ok && req.Cmp(lim) > 0 {
			errs = append(errs, fmt.Errorf("invalid --resources %q: the %s request %s is above its limit %s", s, name, req.String(), lim.String()))
		}
	}
	for name, q := range r.Requests {
		if q.Sign() < 0 {
			errs = append(errs, fmt.Errorf("invalid --resources %q: negative %s request", s, name))
		}
	}
	for name, q := range r.Limits {
		if q.Sign() < 0 {
			errs = append(errs, fmt.Errorf("invalid --resources %q: negative %s limit", s, name))
		}
	}
	return r, errors.Join(errs...)
}

// s3EndpointFromEnv is the S3 endpoint this step's pkg/store uses: AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL.
func s3EndpointFromEnv() string {
	if v := os.Getenv("AWS_ENDPOINT_URL_S3"); v != "" {
		return v
	}
	return os.Getenv("AWS_ENDPOINT_URL")
}

// predictorEnv is the predictor container's environment: where a failure is written for deploy to quote, and
// the S3 settings the step itself has, with the credentials as references to the Secret (never values).
func predictorEnv(o *DeployOptions) []corev1.EnvVar {
	env := []corev1.EnvVar{{Name: ErrorFileEnv, Value: terminationLog}}
	if o.S3Endpoint != "" {
		env = append(env, corev1.EnvVar{Name: "AWS_ENDPOINT_URL", Value: o.S3Endpoint})
	}
	if o.S3Region != "" {
		env = append(env, corev1.EnvVar{Name: "AWS_REGION", Value: o.S3Region})
	}
	if o.S3SecretName != "" {
		optional := true
		for _, key := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
			env = append(env, corev1.EnvVar{Name: key, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: o.S3SecretName}, Key: key, Optional: &optional,
			}}})
		}
	}
	return env
}

// toUnstructuredList turns typed values into the []any of maps an unstructured object holds.
func toUnstructuredList[T any](items []T) []any {
	out := make([]any, 0, len(items))
	for i := range items {
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&items[i])
		if err != nil {
			panic(fmt.Sprintf("converting %T: %v", items[i], err)) // typed API values always convert
		}
		out = append(out, m)
	}
	return out
}

// predictorLabels are the labels of the Deployment, the Service and the Pods.
func predictorLabels(name string) map[string]string {
	return map[string]string{NameLabel: name, ManagedByLabel: "mlpipe", PredictorLabel: name}
}

// RenderDeployment renders the predictor Deployment of the kubernetes target: o.Replicas Pods running
// `mlpipe-step serve --model <uri> --name <name> --addr :8080` on o.Image under the restricted Pod Security
// profile, rolled out one surge Pod at a time with none unavailable.
func RenderDeployment(o *DeployOptions) *appsv1.Deployment {
	yes, no := true, false
	user := int64(predictorUser)
	replicas := int32(o.Replicas)
	grace := int64(terminationGracePeriod)
	zero, one := intstr.FromInt32(0), intstr.FromInt32(1)
	probe := func(path string, period, failures int32) *corev1.Probe {
		return &corev1.Probe{
			ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromInt32(PredictorPort)}},
			PeriodSeconds: period, FailureThreshold: failures,
		}
	}
	annotations := map[string]string{ModelURIAnnotation: o.ModelURI}
	container := corev1.Container{
		Name:            PredictorContainer,
		Image:           o.Image,
		ImagePullPolicy: corev1.PullIfNotPresent,
		Command:         []string{"mlpipe-step"},
		Args:            []string{"serve", "--model", o.ModelURI, "--name", o.Name, "--addr", fmt.Sprintf(":%d", PredictorPort), "--drain-delay", drainDelay},
		Ports:           []corev1.ContainerPort{{Name: "http", ContainerPort: PredictorPort, Protocol: corev1.ProtocolTCP}},
		Env:             predictorEnv(o),
		Resources:       o.Resources,
		// serve loads the model before it listens: the startup probe gives a large model 5 minutes before the
		// liveness probe may restart the container.
		StartupProbe:             probe("/v2/health/live", 2, 150),
		LivenessProbe:            probe("/v2/health/live", 10, 3),
		ReadinessProbe:           probe("/v2/health/ready", 2, 3),
		TerminationMessagePath:   terminationLog,
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
		SecurityContext: &corev1.SecurityContext{
			RunAsNonRoot:             &yes,
			RunAsUser:                &user,
			AllowPrivilegeEscalation: &no,
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
	}
	if o.EnvFromSecret != "" {
		container.EnvFrom = []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: o.EnvFromSecret}}}}
	}
	return &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: o.Name, Namespace: o.Namespace, Labels: predictorLabels(o.Name), Annotations: annotations},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{PredictorLabel: o.Name}},
			Strategy: appsv1.DeploymentStrategy{
				Type:          appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{MaxUnavailable: &zero, MaxSurge: &one},
			},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: predictorLabels(o.Name), Annotations: annotations},
				Spec: corev1.PodSpec{
					ServiceAccountName:            o.ServiceAccount,
					AutomountServiceAccountToken:  &no,
					TerminationGracePeriodSeconds: &grace,
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot:   &yes,
						RunAsUser:      &user,
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					Containers: []corev1.Container{container},
				},
			},
		},
	}
}

// RenderService renders the predictor Service of the kubernetes target: port 80 (http) to the Pods' 8080.
func RenderService(o *DeployOptions) *corev1.Service {
	return &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{Name: o.Name, Namespace: o.Namespace, Labels: predictorLabels(o.Name)},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeClusterIP,
			Selector: map[string]string{PredictorLabel: o.Name},
			Ports: []corev1.ServicePort{{
				Name: "http", Port: ServicePort, TargetPort: intstr.FromInt32(PredictorPort), Protocol: corev1.ProtocolTCP,
			}},
		},
	}
}

// RenderKubernetes returns what the kubernetes target applies, in order: the Deployment, then the Service, as
// server-side apply bodies (no status, no empty creationTimestamp).
func RenderKubernetes(o *DeployOptions) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	for _, obj := range []runtime.Object{RenderDeployment(o), RenderService(o)} {
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
		if err != nil {
			return nil, fmt.Errorf("error converting %T: %w", obj, err)
		}
		delete(m, "status")
		unstructured.RemoveNestedField(m, "metadata", "creationTimestamp")
		unstructured.RemoveNestedField(m, "spec", "template", "metadata", "creationTimestamp")
		out = append(out, &unstructured.Unstructured{Object: m})
	}
	return out, nil
}

// deployKubernetes is Deploy for the kubernetes target: print, or apply and wait for the rollout.
func deployKubernetes(ctx context.Context, o *DeployOptions, dyn dynamic.Interface, out, log io.Writer) (string, error) {
	objs, err := RenderKubernetes(o)
	if err != nil {
		return "", err
	}
	endpoint := ServiceEndpoint(o.Name, o.Namespace)
	if o.DryRun {
		var buf bytes.Buffer
		for i, obj := range objs {
			y, err := yaml.Marshal(obj.Object)
			if err != nil {
				return "", err
			}
			if i > 0 {
				buf.WriteString("---\n")
			}
			buf.Write(y)
		}
		_, _ = out.Write(buf.Bytes())
		return endpoint, nil
	}
	if dyn == nil {
		return "", errors.New("no Kubernetes client")
	}
	for _, obj := range objs {
		if err := apply(ctx, dyn, obj); err != nil {
			return "", err
		}
	}
	fmt.Fprintf(log, "applied Deployment and Service %s/%s (model %s); waiting up to %s for the rollout\n", o.Namespace, o.Name, o.ModelURI, o.Timeout)
	if err := waitRollout(ctx, dyn, o, log); err != nil {
		return "", err
	}
	fmt.Fprintf(log, "Deployment %s/%s rolled out: %s\n", o.Namespace, o.Name, endpoint)
	return endpoint, nil
}

// apply server-side applies obj as FieldManager, taking over conflicting fields.
func apply(ctx context.Context, dyn dynamic.Interface, obj *unstructured.Unstructured) error {
	gvr := ServiceGVR
	if obj.GetKind() == "Deployment" {
		gvr = DeploymentGVR
	}
	data, err := json.Marshal(obj.Object)
	if err != nil {
		return err
	}
	force := true
	_, err = dyn.Resource(gvr).Namespace(obj.GetNamespace()).Patch(ctx, obj.GetName(), types.ApplyPatchType, data,
		metav1.PatchOptions{FieldManager: FieldManager, Force: &force})
	if err != nil {
		return fmt.Errorf("error applying %s %s/%s: %w", obj.GetKind(), obj.GetNamespace(), obj.GetName(), err)
	}
	return nil
}
