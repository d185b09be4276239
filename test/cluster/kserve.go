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

package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// KServeModule and KServeVersion are the KServe release whose controller manager (hack/build-tools.sh builds
// kserve-manager from this module at this version; hack/lib/tools.sh pins the same) and CRDs the harness runs.
const (
	KServeModule  = "github.com/kserve/kserve"
	KServeVersion = "v0.16.0"
	// KServeNamespace is where KServe reads its inferenceservice-config ConfigMap.
	KServeNamespace = "kserve"
)

// kserveCRDs are the CRD files of KServe's serving API that its controller manager watches (the LLM
// InferenceService CRDs belong to another controller and are left out).
var kserveCRDs = []string{
	"serving.kserve.io_inferenceservices.yaml", "serving.kserve.io_servingruntimes.yaml",
	"serving.kserve.io_clusterservingruntimes.yaml", "serving.kserve.io_clusterstoragecontainers.yaml",
	"serving.kserve.io_trainedmodels.yaml", "serving.kserve.io_inferencegraphs.yaml",
	"serving.kserve.io_localmodelcaches.yaml", "serving.kserve.io_localmodelnodegroups.yaml",
	"serving.kserve.io_localmodelnodes.yaml",
}

// KServeModuleDir downloads KServe's module (it is not a dependency of mlpipe) and returns its folder in the
// module cache.
func KServeModuleDir(ctx context.Context) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", KServeModule+"@"+KServeVersion)
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = fmt.Errorf("%w: %s", err, ee.Stderr)
		}
		return "", fmt.Errorf("error downloading %s@%s: %w", KServeModule, KServeVersion, err)
	}
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(out, &info); err != nil {
		return "", err
	}
	if info.Error != "" || info.Dir == "" {
		return "", fmt.Errorf("error downloading %s@%s: %s", KServeModule, KServeVersion, info.Error)
	}
	return info.Dir, nil
}

// installKServeCRDs installs KServe's serving CRDs from its module folder dir.
func (c *Cluster) installKServeCRDs(dir string) error {
	paths := make([]string, len(kserveCRDs))
	for i, f := range kserveCRDs {
		paths[i] = filepath.Join(dir, "config", "crd", "full", f)
	}
	return c.InstallCRDs(paths...)
}

// StartKServe runs KServe's own controller manager (Tools.KServeManager) on this host against the real node's
// cluster, in Standard (raw Deployment) mode: an InferenceService becomes a Deployment and a Service that the
// node really runs, and KServe writes Ready and status.url once the predictor is available. Knative, Istio and
// ingress creation are off (none runs here). KServe's admission webhooks are served but not registered, so the
// API server admits InferenceServices without KServe's defaulting: specs must name their container
// kserve-container themselves (mlpipe's do). The manager stops with the cluster.
func (c *Cluster) StartKServe(ctx context.Context) error {
	if !c.realNode || c.plane == nil {
		return errors.New("KServe needs the real node (Options.RealNode): its predictors are Pods that must run")
	}
	if !isExecutable(c.Tools.KServeManager) {
		return fmt.Errorf("KServe's controller manager is not built: %s (%s); %s", c.Tools.KServeManager, EnvKServeManager, BuildHint)
	}
	dir, err := KServeModuleDir(ctx)
	if err != nil {
		return err
	}
	if err := c.installKServeCRDs(dir); err != nil {
		return err
	}
	if err := c.applyKServeConfig(ctx, filepath.Join(dir, "config", "configmap", "inferenceservice.yaml")); err != nil {
		return err
	}
	// controller-runtime's webhook server reads its certificate from $TMPDIR/k8s-webhook-server/serving-certs.
	tmp := filepath.Join(c.Dir, "kserve-tmp")
	certDir := filepath.Join(tmp, "k8s-webhook-server", "serving-certs")
	if err := os.MkdirAll(certDir, 0o700); err != nil {
		return err
	}
	cred, err := c.plane.pki.issue(certSpec{name: "kserve-webhook", cn: "kserve-webhook-server-service", ips: []net.IP{net.IPv4(127, 0, 0, 1)}, server: true})
	if err != nil {
		return err
	}
	for src, dst := range map[string]string{cred.CertFile: "tls.crt", cred.KeyFile: "tls.key"} {
		b, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(certDir, dst), b, 0o600); err != nil {
			return err
		}
	}
	webhookPort, err := FreePort()
	if err != nil {
		return err
	}
	probePort, err := FreePort()
	if err != nil {
		return err
	}
	env := append(os.Environ(), "KUBECONFIG="+c.Kubeconfig, "TMPDIR="+tmp, "POD_NAMESPACE="+KServeNamespace)
	proc, err := startProcess(c.Tools.KServeManager, []string{
		"-metrics-addr", "0", "-leader-elect=false",
		"-webhook-port", strconv.Itoa(webhookPort),
		"-health-probe-addr", "127.0.0.1:" + strconv.Itoa(probePort),
	}, env, filepath.Join(c.Dir, "kserve-manager.log"))
	if err != nil {
		return err
	}
	c.track(proc)
	start := time.Now()
	ready := "http://127.0.0.1:" + strconv.Itoa(probePort) + "/readyz"
	for {
		select {
		case <-proc.done:
			return fmt.Errorf("KServe's controller manager exited: %v\ntail of kserve-manager.log:\n%s", proc.err, tailFile(proc.logPath, 30))
		case <-ctx.Done():
			return fmt.Errorf("KServe's controller manager not ready: %w\ntail of kserve-manager.log:\n%s", ctx.Err(), tailFile(proc.logPath, 30))
		case <-time.After(200 * time.Millisecond):
		}
		if resp, err := http.Get(ready); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				c.logf("KServe %s controller manager ready in %s (log %s)", KServeVersion, time.Since(start).Round(time.Millisecond), proc.logPath)
				return nil
			}
		}
	}
}

// applyKServeConfig creates KServe's namespace and its inferenceservice-config ConfigMap from KServe's own file,
// switched to Standard deployment mode with neither ingress nor Istio virtual services.
func (c *Cluster) applyKServeConfig(ctx context.Context, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var cm corev1.ConfigMap
	if err := yaml.Unmarshal(b, &cm); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	var ingress map[string]any
	if err := json.Unmarshal([]byte(cm.Data["ingress"]), &ingress); err != nil {
		return fmt.Errorf("%s: data.ingress: %w", path, err)
	}
	ingress["disableIngressCreation"] = true
	ingress["disableIstioVirtualHost"] = true
	ib, err := json.Marshal(ingress)
	if err != nil {
		return err
	}
	cm.Data["ingress"] = string(ib)
	cm.Data["deploy"] = `{"defaultDeploymentMode": "Standard"}`
	cm.Namespace, cm.ResourceVersion = KServeNamespace, ""
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: KServeNamespace}}
	if _, err := c.Kube.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	if _, err := c.Kube.CoreV1().ConfigMaps(KServeNamespace).Create(ctx, &cm, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	return nil
}
