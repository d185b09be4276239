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
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"
)

// InferenceServiceGVR is the KServe InferenceService resource.
var InferenceServiceGVR = schema.GroupVersionResource{Group: "serving.kserve.io", Version: "v1beta1", Resource: "inferenceservices"}

// FieldManager is the server-side apply field manager of deploy.
const FieldManager = "mlpipe"

// DeployOptions are the flags of `step deploy`.
type DeployOptions struct {
	// ModelURI is the registered model.json to serve.
	ModelURI string
	// Name and Namespace name the InferenceService.
	Name string
	// Namespace is the InferenceService's namespace.
	Namespace string
	// Image is the predictor image; it must contain mlpipe-step.
	Image string
	// CanaryPercent routes this share of traffic to the new revision (0 = all).
	CanaryPercent int
	// Timeout bounds the wait for Ready.
	Timeout time.Duration
	// DryRun prints the InferenceService instead of applying it.
	DryRun bool
	// ServiceAccount is the predictor's service account (e.g. one carrying S3 credentials).
	ServiceAccount string
	// EnvFromSecret names a Secret whose keys become the predictor's environment (e.g. AWS_* for s3:// models).
	EnvFromSecret string
	// ResultsDir receives the Tekton results.
	ResultsDir string
	// PollInterval is how often the Ready condition is checked; 0 means 2s.
	PollInterval time.Duration
}

func newDeployCommand() *cobra.Command {
	o := &DeployOptions{}
	cmd := &cobra.Command{
		Use:   "deploy",
		Short: "Deploy a registered model as a KServe InferenceService",
		Long: "Renders a serving.kserve.io/v1beta1 InferenceService whose predictor runs\n" +
			"`mlpipe-step serve --model <uri> --name <name>` on --image, applies it with server-side apply (in-cluster\n" +
			"config or KUBECONFIG) and waits until it is Ready. --dry-run prints the YAML instead. Result: endpoint.",
		Args: cobra.NoArgs,
	}
	cmd.Flags().StringVar(&o.ModelURI, "model-uri", "", "URI of the registered model.json")
	cmd.Flags().StringVar(&o.Name, "name", "", "InferenceService name (also the served model name)")
	cmd.Flags().StringVar(&o.Namespace, "namespace", "", "InferenceService namespace (default: the pod's own namespace, else \"default\")")
	cmd.Flags().StringVar(&o.Image, "image", "", "predictor image containing mlpipe-step")
	cmd.Flags().IntVar(&o.CanaryPercent, "canary-percent", 0, "percent of traffic for the new revision (0 = all traffic)")
	cmd.Flags().DurationVar(&o.Timeout, "timeout", 5*time.Minute, "how long to wait for the InferenceService to be Ready")
	dryRun := cmd.Flags().String("dry-run", "auto", "true: print the InferenceService YAML, do not apply it; false: apply it; auto: apply when a cluster is configured (in a pod, or KUBECONFIG / ~/.kube/config), else print")
	cmd.Flags().Lookup("dry-run").NoOptDefVal = "true"
	cmd.Flags().StringVar(&o.ServiceAccount, "service-account", "", "predictor service account")
	cmd.Flags().StringVar(&o.EnvFromSecret, "env-from-secret", "", "Secret whose keys become the predictor's environment")
	addResultsDirFlag(cmd, &o.ResultsDir)
	cmd.RunE = runE([]string{"model-uri", "name", "image"}, func(cmd *cobra.Command) error {
		switch *dryRun {
		case "true", "false", "auto":
		default:
			return fmt.Errorf("invalid --dry-run %q: want true, false or auto", *dryRun)
		}
		dyn, err := deployClient(o, *dryRun, cmd.ErrOrStderr())
		if err != nil {
			return err
		}
		endpoint, err := Deploy(cmd.Context(), o, dyn, cmd.OutOrStdout(), cmd.ErrOrStderr())
		if err != nil {
			return err
		}
		return writeResults(o.ResultsDir, result{"endpoint", endpoint})
	})
	return cmd
}

// deployClient returns the client to apply with, or nil and o.DryRun set when the
// InferenceService is only printed: --dry-run=true, or auto with no cluster configured.
func deployClient(o *DeployOptions, mode string, log io.Writer) (dynamic.Interface, error) {
	o.DryRun = mode == "true"
	if o.DryRun {
		return nil, nil
	}
	cfg, err := restConfig()
	if err != nil {
		if mode == "auto" {
			fmt.Fprintf(log, "no cluster configured (%v): printing the InferenceService instead of applying it\n", err)
			o.DryRun = true
			return nil, nil
		}
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("error creating Kubernetes client: %w", err)
	}
	return dyn, nil
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
		return nil, fmt.Errorf("no reachable cluster (not in a pod, and KUBECONFIG gives no usable config: %v); use --dry-run to print the InferenceService", err)
	}
	return cfg, nil
}

// podNamespaceFile holds the namespace of the pod a step runs in.
var podNamespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// Validate checks the options; an empty namespace becomes the pod's own (or "default").
func (o *DeployOptions) Validate() error {
	if o.Namespace == "" {
		o.Namespace = "default"
		if ns, err := os.ReadFile(podNamespaceFile); err == nil && len(strings.TrimSpace(string(ns))) > 0 {
			o.Namespace = strings.TrimSpace(string(ns))
		}
	}
	var errs []error
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
	predictor := map[string]any{"containers": []any{container}}
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

// Deploy runs the deploy step: with DryRun it prints the YAML to out and returns the predicted in-cluster URL;
// otherwise it applies through dyn and waits for Ready, returning status.url.
func Deploy(ctx context.Context, o *DeployOptions, dyn dynamic.Interface, out, log io.Writer) (string, error) {
	if err := o.Validate(); err != nil {
		return "", err
	}
	isvc := RenderInferenceService(o)
	if o.DryRun {
		y, err := yaml.Marshal(isvc.Object)
		if err != nil {
			return "", err
		}
		_, _ = out.Write(y)
		return fmt.Sprintf("http://%s.%s.svc.cluster.local/v2/models/%s/infer", o.Name, o.Namespace, o.Name), nil
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
	return waitReady(ctx, ri, o, log)
}

// waitReady polls the InferenceService until its Ready condition is True and returns its URL.
func waitReady(ctx context.Context, ri dynamic.ResourceInterface, o *DeployOptions, log io.Writer) (string, error) {
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
