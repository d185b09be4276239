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
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/clock"
	"sigs.k8s.io/yaml"

	"github.com/mlpipe/mlpipe/pkg/clusteraccess"
)

// InferenceServiceGVR is the KServe InferenceService resource.
var InferenceServiceGVR = schema.GroupVersionResource{Group: "serving.kserve.io", Version: "v1beta1", Resource: "inferenceservices"}

// FieldManager is the server-side apply field manager of deploy.
const FieldManager = "mlpipe"

// Deploy targets: what `step deploy --target` serves the model with.
const (
	// TargetKServe applies a KServe InferenceService (the default).
	TargetKServe = "kserve"
	// TargetKubernetes applies a Deployment and a Service, for clusters without KServe.
	TargetKubernetes = "kubernetes"
)

// DeployOptions are the flags of `step deploy`.
type DeployOptions struct {
	// Target is TargetKServe or TargetKubernetes.
	Target string
	// ModelURI is the registered model.json to serve.
	ModelURI string
	// Name names the InferenceService, or the Deployment and the Service; it is also the served model's name.
	Name string
	// Namespace is where they live.
	Namespace string
	// Image is the predictor image; it must contain mlpipe-step.
	Image string
	// CanaryPercent routes this share of traffic to the new revision (0 = all); kserve only.
	CanaryPercent int
	// Replicas is the number of predictor Pods; kubernetes only.
	Replicas int
	// Resources are the predictor container's requests and limits; kubernetes only.
	Resources corev1.ResourceRequirements
	// S3Endpoint and S3Region are the predictor's AWS_ENDPOINT_URL and AWS_REGION (empty: not set). The command
	// takes them from its own environment, which the Task sets from its s3-endpoint and s3-region params.
	S3Endpoint, S3Region string
	// S3SecretName names the Secret whose AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY the predictor reads
	// s3:// models with (optional keys; empty: none).
	S3SecretName string
	// Timeout bounds the wait for Ready (kserve) or for the completed rollout (kubernetes).
	Timeout time.Duration
	// DryRun prints the objects instead of applying them.
	DryRun bool
	// ServiceAccount is the predictor's service account (e.g. one carrying S3 credentials).
	ServiceAccount string
	// EnvFromSecret names a Secret whose keys become the predictor's environment (e.g. AWS_* for s3:// models).
	EnvFromSecret string
	// ResultsDir receives the Tekton results.
	ResultsDir string
	// PollInterval is how often the Ready condition or the rollout is checked; 0 means 2s.
	PollInterval time.Duration
	// Clock times the rollout wait of the kubernetes target; nil is the real clock.
	Clock clock.Clock
}

func newDeployCommand() *cobra.Command {
	o := &DeployOptions{}
	cmd := &cobra.Command{
		Use:   "deploy",
		Short: "Deploy a registered model as a KServe InferenceService, or as a Deployment and a Service",
		Long: "--target=kserve (the default) renders a serving.kserve.io/v1beta1 InferenceService whose predictor runs\n" +
			"`mlpipe-step serve --model <uri> --name <name>` on --image, applies it with server-side apply and waits\n" +
			"until it is Ready. Result: endpoint, the InferenceService's status.url.\n\n" +
			"--target=kubernetes needs no KServe: it server-side applies a Deployment (--replicas Pods running the same\n" +
			"predictor, rolling update without unavailability) and a Service (port 80), both named --name, and waits\n" +
			"until the rollout is complete; a predictor of the new version that crashes fails the step at once with\n" +
			"its own error. Result: endpoint, http://<name>.<namespace>.svc.cluster.local/v2/models/<name>/infer.\n\n" +
			"The predictor reads s3:// models with this step's AWS_ENDPOINT_URL and AWS_REGION and the keys\n" +
			"AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY of the Secret --s3-secret-name (in --namespace).\n\n" +
			"It applies only inside a Pod (in-cluster config) or when asked in words: --dry-run=false applies to the\n" +
			"cluster KUBECONFIG (or ~/.kube/config) names. Anywhere else it prints the YAML, says on stderr that it did\n" +
			"not apply it, and writes as endpoint the URL the model would get in the cluster.\n" +
			"With " + clusteraccess.EnvVar + "=none (set by `mlpipe run` for every step) it never contacts a cluster,\n" +
			"whatever --dry-run says; `mlpipe run --deploy-to-cluster` sets " + clusteraccess.EnvVar + "=kubeconfig instead,\n" +
			"with which --dry-run=auto applies to the cluster KUBECONFIG names.",
		Args: cobra.NoArgs,
	}
	cmd.Flags().StringVar(&o.Target, "target", TargetKServe, "what serves the model: kserve (an InferenceService) or kubernetes (a Deployment and a Service)")
	cmd.Flags().StringVar(&o.ModelURI, "model-uri", "", "URI of the registered model.json")
	cmd.Flags().StringVar(&o.Name, "name", "", "name of the InferenceService, or of the Deployment and the Service (also the served model name)")
	cmd.Flags().StringVar(&o.Namespace, "namespace", "", "namespace to deploy into (default: the pod's own namespace, else \"default\")")
	cmd.Flags().StringVar(&o.Image, "image", "", "predictor image containing mlpipe-step")
	cmd.Flags().IntVar(&o.CanaryPercent, "canary-percent", 0, "kserve: percent of traffic for the new revision (0 = all traffic)")
	cmd.Flags().IntVar(&o.Replicas, "replicas", 1, "kubernetes: number of predictor Pods")
	resources := cmd.Flags().String("resources", "", `kubernetes: the predictor container's resources as JSON, e.g. {"requests":{"cpu":"100m"},"limits":{"memory":"256Mi"}}`)
	cmd.Flags().StringVar(&o.S3SecretName, "s3-secret-name", "", "Secret holding AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY for the predictor's s3:// model (optional keys)")
	cmd.Flags().DurationVar(&o.Timeout, "timeout", 5*time.Minute, "how long to wait for the InferenceService to be Ready, or the rollout to complete")
	dryRun := cmd.Flags().String("dry-run", "auto", "true: print the YAML, do not apply it; "+
		"false: apply it (in-cluster config, else the cluster KUBECONFIG names); "+
		"auto: apply only when running in a Pod, else print and do not apply")
	cmd.Flags().Lookup("dry-run").NoOptDefVal = "true"
	cmd.Flags().StringVar(&o.ServiceAccount, "service-account", "", "predictor service account")
	cmd.Flags().StringVar(&o.EnvFromSecret, "env-from-secret", "", "Secret whose keys become the predictor's environment")
	addResultsDirFlag(cmd, &o.ResultsDir)
	cmd.RunE = runE([]string{"model-uri", "name", "image"}, func(cmd *cobra.Command) error {
		var err error
		if o.Resources, err = ParseResources(*resources); err != nil {
			return err
		}
		o.S3Endpoint, o.S3Region = s3EndpointFromEnv(), os.Getenv("AWS_REGION")
		dyn, notApplied, err := deployClient(o, *dryRun)
		if err != nil {
			return err
		}
		endpoint, err := Deploy(cmd.Context(), o, dyn, cmd.OutOrStdout(), cmd.ErrOrStderr())
		if err != nil {
			return err
		}
		if notApplied != "" {
			fmt.Fprintln(cmd.ErrOrStderr(), notApplied) // after the YAML: the last line of the step's log
		}
		return writeResults(o.ResultsDir, result{"endpoint", endpoint})
	})
	return cmd
}

// deployClient returns the client to apply with or, when the InferenceService is only printed, o.DryRun set
// and the line saying it was not applied, and why. No client is built, and no API server contacted, unless
// applyDecision says apply.
func deployClient(o *DeployOptions, mode string) (dynamic.Interface, string, error) {
	access, err := clusteraccess.FromEnv()
	if err != nil {
		return nil, "", err
	}
	apply, why, err := applyDecision(mode, access, inPod(), o.objects())
	if err != nil || !apply {
		o.DryRun = true
		return nil, why, err
	}
	cfg, err := restConfig()
	if err != nil {
		return nil, "", err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, "", fmt.Errorf("error creating Kubernetes client: %w", err)
	}
	return dyn, "", nil
}

// objects names what deploy applies, for messages.
func (o *DeployOptions) objects() string {
	if o.Target == TargetKubernetes {
		return "the Deployment and the Service"
	}
	return "the InferenceService"
}

// applyDecision is the rule of deploy: a local command never touches a cluster unless the user asked in words
// that say so. It reports whether to apply and, when not, the line that says why; what names the objects.
func applyDecision(mode string, access clusteraccess.Access, inPod bool, what string) (apply bool, why string, err error) {
	switch {
	case mode != "true" && mode != "false" && mode != "auto":
		return false, "", fmt.Errorf("invalid --dry-run %q: want true, false or auto", mode)
	case mode == "true":
		return false, "--dry-run: printed " + what + ", did NOT apply it", nil
	case access == clusteraccess.None:
		return false, "local run: printed, not applied; `mlpipe run --deploy-to-cluster` applies it to the cluster KUBECONFIG names", nil
	case mode == "false", inPod, access == clusteraccess.Kubeconfig:
		return true, "", nil
	default:
		return false, "not in a Pod: printed " + what + ", did NOT apply it; --dry-run=false applies it to the cluster KUBECONFIG names", nil
	}
}

// inPod reports whether the in-cluster config loads, i.e. the step runs inside a Pod.
func inPod() bool {
	_, err := rest.InClusterConfig()
	return err == nil
}

// restConfig returns the in-cluster config, else the KUBECONFIG / ~/.kube/config one.
func restConfig() (*rest.Config, error) {
	cfg, err := rest.InClusterConfig()
	if err == nil {
		return cfg, nil
	}
	if !errors.Is(err, rest.ErrNotInCluster) {
		return nil, fmt.Errorf("error loading in-cluster config: %w", err)
	}
	loader := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(clientcmd.NewDefaultClientConfigLoadingRules(), &clientcmd.ConfigOverrides{})
	cfg, err = loader.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("no reachable cluster (not in a pod, and KUBECONFIG gives no usable config: %v); use --dry-run to print what deploy would apply", err)
	}
	return cfg, nil
}

// podNamespaceFile holds the namespace of the pod a step runs in.
var podNamespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// Validate checks the options; an empty namespace becomes the pod's own (or "default"), an empty target kserve.
func (o *DeployOptions) Validate() error {
	if o.Target == "" {
		o.Target = TargetKServe
	}
	if o.Namespace == "" {
		o.Namespace = "default"
		if ns, err := os.ReadFile(podNamespaceFile); err == nil && len(strings.TrimSpace(string(ns))) > 0 {
			o.Namespace = strings.TrimSpace(string(ns))
		}
	}
	var errs []error
	if o.Target != TargetKServe && o.Target != TargetKubernetes {
		errs = append(errs, fmt.Errorf("invalid --target %q: want %s or %s", o.Target, TargetKServe, TargetKubernetes))
	}
	if o.Target == TargetKubernetes && (o.Replicas < 1 || o.Replicas > math.MaxInt32) {
		errs = append(errs, fmt.Errorf("--replicas must be between 1 and %d, got %d", math.MaxInt32, o.Replicas))
	}
	if o.S3SecretName != "" {
		for _, msg := range validation.IsDNS1123Subdomain(o.S3SecretName) {
			errs = append(errs, fmt.Errorf("invalid --s3-secret-name %q: %s", o.S3SecretName, msg))
		}
	}
	for _, msg := range validation.IsDNS1035Label(o.Name) {
		errs = append(errs, fmt.Errorf("invalid --name %q: %s", o.Name, msg))
	}
	for _, msg := range validation.IsDNS1123Label(o.Namespace) {
		errs = append(errs, fmt.Errorf("invalid --namespace %q: %s", o.Namespace, msg))
	}
	if o.CanaryPercent < 0 || o.CanaryPercent > 100 {
		errs = append(errs, fmt.Errorf("--canary-percent must be between 0 and 100, got %d", o.CanaryPercent))
	}
	if o.Timeout <= 0 && !o.DryRun {
		errs = append(errs, fmt.Errorf("--timeout must be positive, got %s", o.Timeout))
	}
	return errors.Join(errs...)
}

// kserveISVCLabel is the label KServe puts on an InferenceService's Pods, with its name.
const kserveISVCLabel = "serving.kserve.io/inferenceservice"

// RenderInferenceService renders the InferenceService for the options.
func RenderInferenceService(o *DeployOptions) *unstructured.Unstructured {
	container := map[string]any{
		"name":    "kserve-container",
		"image":   o.Image,
		"command": []any{"mlpipe-step"},
		"args":    []any{"serve", "--model", o.ModelURI, "--name", o.Name, "--addr", ":8080"},
		"ports":   []any{map[string]any{"name": "http1", "containerPort": int64(8080), "protocol": "TCP"}},
		"readinessProbe": map[string]any{
			"httpGet": map[string]any{"path": "/v2/health/ready", "port": int64(8080)},
		},
		"env": toUnstructuredList(predictorEnv(o)),
		// A predictor that cannot load its model writes the error here ($MLPIPE_ERROR_FILE); KServe copies the
		// container's termination message into status.modelStatus.lastFailureInfo, and deploy quotes it.
		"terminationMessagePath":   terminationLog,
		"terminationMessagePolicy": string(corev1.TerminationMessageFallbackToLogsOnError),
		"securityContext": map[string]any{
			"allowPrivilegeEscalation": false,
			"runAsNonRoot":             true,
			"capabilities":             map[string]any{"drop": []any{"ALL"}},
			"seccompProfile":           map[string]any{"type": "RuntimeDefault"},
		},
	}
	if o.EnvFromSecret != "" {
		container["envFrom"] = []any{map[string]any{"secretRef": map[string]any{"name": o.EnvFromSecret}}}
	}
	// KServe puts the predictor's annotations on its Pods: deploy finds the Pods of this version by the model.
	predictor := map[string]any{"containers": []any{container}, "annotations": map[string]any{ModelURIAnnotation: o.ModelURI}}
	if o.CanaryPercent > 0 {
		predictor["canaryTrafficPercent"] = int64(o.CanaryPercent)
	}
	if o.ServiceAccount != "" {
		predictor["serviceAccountName"] = o.ServiceAccount
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "serving.kserve.io/v1beta1",
		"kind":       "InferenceService",
		"metadata": map[string]any{
			"name":      o.Name,
			"namespace": o.Namespace,
			"labels":    map[string]any{"app.kubernetes.io/managed-by": "mlpipe", "app.kubernetes.io/name": o.Name},
			"annotations": map[string]any{
				"mlpipe.dev/model-uri": o.ModelURI,
			},
		},
		"spec": map[string]any{"predictor": predictor},
	}}
}

// Deploy runs the deploy step: with DryRun it prints the YAML to out and returns the URL the model would get in
// the cluster (nothing was applied; the result is written anyway because later tasks may reference it);
// otherwise it applies through dyn and waits for Ready (kserve: returning status.url) or for the completed
// rollout (kubernetes: returning the Service's URL).
func Deploy(ctx context.Context, o *DeployOptions, dyn dynamic.Interface, out, log io.Writer) (string, error) {
	if err := o.Validate(); err != nil {
		return "", err
	}
	if o.Target == TargetKubernetes {
		return deployKubernetes(ctx, o, dyn, out, log)
	}
	isvc := RenderInferenceService(o)
	if o.DryRun {
		y, err := yaml.Marshal(isvc.Object)
		if err != nil {
			return "", err
		}
		_, _ = out.Write(y)
		return ServiceEndpoint(o.Name, o.Namespace), nil
	}
	if dyn == nil {
		return "", errors.New("no Kubernetes client")
	}
	data, err := json.Marshal(isvc.Object)
	if err != nil {
		return "", err
	}
	ri := dyn.Resource(InferenceServiceGVR).Namespace(o.Namespace)
	force := true
	if _, err := ri.Patch(ctx, o.Name, types.ApplyPatchType, data, metav1.PatchOptions{FieldManager: FieldManager, Force: &force}); err != nil {
		return "", fmt.Errorf("error applying InferenceService %s/%s: %w", o.Namespace, o.Name, err)
	}
	fmt.Fprintf(log, "applied InferenceService %s/%s; waiting up to %s for Ready\n", o.Namespace, o.Name, o.Timeout)
	return waitReady(ctx, dyn, o, log)
}

// waitReady polls the InferenceService until its Ready condition is True and returns its URL. It fails early,
// quoting the predictor's own error, when KServe recorded a failed model load or a predictor Pod of this model
// crashed (KServe updates its status only when the Deployment changes, which a crash loop does not).
func waitReady(ctx context.Context, dyn dynamic.Interface, o *DeployOptions, log io.Writer) (string, error) {
	ri := dyn.Resource(InferenceServiceGVR).Namespace(o.Namespace)
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	interval := o.PollInterval
	if interval <= 0 {
		interval = 2 * time.Second
	}
	last := "no status yet"
	for {
		obj, err := ri.Get(ctx, o.Name, metav1.GetOptions{})
		if err == nil {
			failure := loadFailure(obj)
			if failure == "" {
				failure = strings.Join(kservePredictorFailures(ctx, dyn, o), "; ")
			}
			if failure != "" {
				return "", fmt.Errorf("InferenceService %s/%s: the predictor cannot load the model: %s", o.Namespace, o.Name, failure)
			}
			ready, msg := readyCondition(obj)
			if ready {
				url, _, _ := unstructured.NestedString(obj.Object, "status", "url")
				if url == "" {
					url, _, _ = unstructured.NestedString(obj.Object, "status", "address", "url")
				}
				if url == "" {
					return "", fmt.Errorf("InferenceService %s/%s is Ready but has no status.url", o.Namespace, o.Name)
				}
				fmt.Fprintf(log, "InferenceService %s/%s is Ready at %s\n", o.Namespace, o.Name, url)
				return url, nil
			}
			last = msg
		} else if ctx.Err() == nil {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("InferenceService %s/%s not Ready within %s: %s", o.Namespace, o.Name, o.Timeout, last)
		case <-time.After(interval):
		}
	}
}

// kservePredictorFailures quotes the failed containers of the predictor Pods KServe made for the InferenceService
// that serve o.ModelURI (KServe labels them with the InferenceService's name and copies the predictor's
// annotations onto them). A failed list is no failure: the wait goes on.
func kservePredictorFailures(ctx context.Context, dyn dynamic.Interface, o *DeployOptions) []string {
	list, err := dyn.Resource(PodGVR).Namespace(o.Namespace).List(ctx, metav1.ListOptions{LabelSelector: kserveISVCLabel + "=" + o.Name})
	if err != nil {
		return nil
	}
	var failures []string
	for _, item := range list.Items {
		pod := &corev1.Pod{}
		if runtime.DefaultUnstructuredConverter.FromUnstructured(item.Object, pod) != nil || pod.DeletionTimestamp != nil ||
			pod.Annotations[ModelURIAnnotation] != o.ModelURI {
			continue
		}
		f, _ := podState(pod)
		failures = append(failures, f...)
	}
	return failures
}

// loadFailure is KServe's record of a predictor that failed to load its model (status.modelStatus: transition
// BlockedByFailedLoad, with the container's termination message and exit code in lastFailureInfo), or "".
func loadFailure(obj *unstructured.Unstructured) string {
	transition, _, _ := unstructured.NestedString(obj.Object, "status", "modelStatus", "transitionStatus")
	if transition != "BlockedByFailedLoad" {
		return ""
	}
	info, _, _ := unstructured.NestedMap(obj.Object, "status", "modelStatus", "lastFailureInfo")
	msg, _ := info["message"].(string)
	msg = strings.TrimSpace(msg)
	if msg == "" {
		msg = fmt.Sprintf("%v (no message)", info["reason"])
	}
	if code, ok := info["exitCode"].(int64); ok && code != 0 {
		msg = fmt.Sprintf("exit code %d: %s", code, msg)
	}
	return msg
}

// readyCondition returns whether the Ready condition is True, and a description of it otherwise.
func readyCondition(obj *unstructured.Unstructured) (bool, string) {
	conds, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	for _, c := range conds {
		m, ok := c.(map[string]any)
		if !ok || m["type"] != "Ready" {
			continue
		}
		if m["status"] == "True" {
			return true, ""
		}
		return false, fmt.Sprintf("Ready=%v: %v %v", m["status"], m["reason"], m["message"])
	}
	return false, "no Ready condition yet"
}
