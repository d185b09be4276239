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
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

const (
	// TektonNamespace is where Tekton's controller runs and reads its ConfigMaps.
	TektonNamespace = "tekton-pipelines"
	// TektonModule is the module Tekton's CRDs and ConfigMaps are read from (the version in go.mod).
	TektonModule = "github.com/tektoncd/pipeline"
	// TriggersModule is the module Triggers' CRDs are read from (the version in go.mod).
	TriggersModule = "github.com/tektoncd/triggers"
)

// installCRDs installs Tekton's CRDs (and Triggers') from the module cache and waits until they are served.
func (c *Cluster) installCRDs(ctx context.Context, triggers bool) error {
	tekton, err := ModuleDir(ctx, TektonModule)
	if err != nil {
		return err
	}
	paths := []string{filepath.Join(tekton, "config", "300-crds")}
	if triggers {
		dir, err := ModuleDir(ctx, TriggersModule)
		if err != nil {
			return err
		}
		files, err := filepath.Glob(filepath.Join(dir, "config", "300-*.yaml"))
		if err != nil || len(files) == 0 {
			return fmt.Errorf("no config/300-*.yaml in %s", dir)
		}
		paths = append(paths, files...)
	}
	return c.InstallCRDs(paths...)
}

// InstallCRDs creates the CRDs in the files or folders and waits until each is established and served.
func (c *Cluster) InstallCRDs(paths ...string) error {
	if _, err := envtest.InstallCRDs(c.Config, envtest.CRDInstallOptions{
		Paths:              paths,
		ErrorIfPathMissing: true,
		MaxTime:            time.Minute,
		PollInterval:       50 * time.Millisecond,
	}); err != nil {
		return fmt.Errorf("error installing CRDs from %v: %w", paths, err)
	}
	c.mapper.Reset()
	return nil
}

var (
	moduleDirsMu sync.Mutex
	moduleDirs   = map[string]string{}
)

// ModuleDir returns the directory of a module of the build list in the module cache (downloading it if needed).
func ModuleDir(ctx context.Context, module string) (string, error) {
	moduleDirsMu.Lock()
	defer moduleDirsMu.Unlock()
	if dir, ok := moduleDirs[module]; ok {
		return dir, nil
	}
	dir, err := findModuleDir(ctx, module)
	if err != nil {
		return "", err
	}
	moduleDirs[module] = dir
	return dir, nil
}

func findModuleDir(ctx context.Context, module string) (string, error) {
	dir := ""
	if root, err := RepoRoot(); err == nil {
		dir = root
	}
	cmd := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", module)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err == nil && strings.TrimSpace(string(out)) != "" {
		return strings.TrimSpace(string(out)), nil
	}
	// On a fresh module cache `go list -m` knows the version but has no directory yet.
	cmd = exec.CommandContext(ctx, "go", "mod", "download", "-json", module)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if out, err = cmd.Output(); err != nil {
		return "", fmt.Errorf("error locating module %s: %w: %s", module, err, strings.TrimSpace(stderr.String()))
	}
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(out, &info); err != nil || info.Dir == "" {
		return "", fmt.Errorf("error locating module %s: %s %v", module, info.Error, err)
	}
	return info.Dir, nil
}

// createTektonConfig creates the tekton-pipelines namespace and every config/config-*.yaml ConfigMap of Tekton's
// release, with the feature flags overridden.
func (c *Cluster) createTektonConfig(ctx context.Context, featureFlags map[string]string) error {
	if _, err := c.Kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{Name: TektonNamespace},
	}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("error creating namespace %s: %w", TektonNamespace, err)
	}
	dir, err := ModuleDir(ctx, TektonModule)
	if err != nil {
		return err
	}
	files, err := filepath.Glob(filepath.Join(dir, "config", "config-*.yaml"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("no config/config-*.yaml in %s", dir)
	}
	sort.Strings(files)
	flagsSeen := false
	for _, f := range files {
		cms, err := readConfigMaps(f)
		if err != nil {
			return err
		}
		for _, cm := range cms {
			cm.Namespace = TektonNamespace
			if cm.Name == "feature-flags" {
				flagsSeen = true
				if cm.Data == nil {
					cm.Data = map[string]string{}
				}
				for k, v := range featureFlags {
					cm.Data[k] = v
				}
			}
			if _, err := c.Kube.CoreV1().ConfigMaps(TektonNamespace).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
				return fmt.Errorf("error creating ConfigMap %s from %s: %w", cm.Name, f, err)
			}
		}
	}
	if len(featureFlags) > 0 && !flagsSeen {
		return fmt.Errorf("no feature-flags ConfigMap in %s to apply %v to", dir, featureFlags)
	}
	return nil
}

func readConfigMaps(path string) ([]*corev1.ConfigMap, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	dec := utilyaml.NewYAMLOrJSONDecoder(f, 4096)
	var cms []*corev1.ConfigMap
	for {
		cm := &corev1.ConfigMap{}
		if err := dec.Decode(cm); err != nil {
			if err == io.EOF {
				return cms, nil
			}
			return nil, fmt.Errorf("error decoding %s: %w", path, err)
		}
		if cm.Kind == "ConfigMap" {
			cms = append(cms, cm)
		}
	}
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("error finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startTektonController creates Tekton's configuration and runs its controller binary with the environment of
// its Deployment (config/controller.yaml), free ports for its HTTP servers and placeholder images (no Pod
// ever starts), then waits until its reconcilers hold their leader-election leases.
func (c *Cluster) startTektonController(ctx context.Context, featureFlags map[string]string) error {
	if err := c.createTektonConfig(ctx, featureFlags); err != nil {
		return err
	}
	ports := map[string]int{}
	for _, name := range []string{"PROBES_PORT", "METRICS_PROMETHEUS_PORT", "PROFILING_PORT"} {
		p, err := FreePort()
		if err != nil {
			return err
		}
		ports[name] = p
	}
	env := append(os.Environ(),
		"SYSTEM_NAMESPACE="+TektonNamespace,
		"KUBERNETES_MIN_VERSION=v1.28.0",
		"CONFIG_DEFAULTS_NAME=config-defaults",
		"CONFIG_LOGGING_NAME=config-logging",
		"CONFIG_OBSERVABILITY_NAME=config-observability",
		"CONFIG_FEATURE_FLAGS_NAME=feature-flags",
		"CONFIG_LEADERELECTION_NAME=config-leader-election-controller",
		"CONFIG_SPIRE=config-spire",
		"METRICS_DOMAIN=tekton.dev/pipeline",
		"METRICS_PROMETHEUS_HOST=127.0.0.1",
	)
	for name, p := range ports {
		env = append(env, name+"="+strconv.Itoa(p))
	}
	args := []string{
		"-kubeconfig", c.Kubeconfig,
		// Placeholders: Tekton puts them into the Pods it creates, which never run here.
		"-entrypoint-image", "tekton-entrypoint:placeholder",
		"-nop-image", "tekton-nop:placeholder",
		"-sidecarlogresults-image", "tekton-sidecarlogresults:placeholder",
		"-workingdirinit-image", "tekton-workingdirinit:placeholder",
		"-shell-image", "shell:placeholder",
		"-shell-image-win", "shell-win:placeholder",
	}
	if c.realNode { // the images built and imported into the node's containerd
		args = []string{
			"-kubeconfig", c.Kubeconfig,
			"-entrypoint-image", c.Images.Entrypoint.Ref,
			"-nop-image", c.Images.Nop.Ref,
			"-sidecarlogresults-image", c.Images.SidecarLogResults.Ref,
			"-workingdirinit-image", c.Images.WorkingDirInit.Ref,
			"-shell-image", c.Images.Shell.Ref,
			"-shell-image-win", "shell-win:unused",
		}
	}
	proc, err := startProcess(c.Tools.TektonController, args, env, filepath.Join(c.Dir, "tekton-controller.log"))
	if err != nil {
		return fmt.Errorf("error starting Tekton's controller: %w", err)
	}
	c.controller = proc
	return c.waitForController(ctx, ports["PROBES_PORT"])
}

// waitForController waits until the controller answers its readiness probe and both of its main reconcilers
// (TaskRun and PipelineRun) hold a leader-election lease, i.e. they reconcile.
func (c *Cluster) waitForController(ctx context.Context, probesPort int) error {
	url := fmt.Sprintf("http://127.0.0.1:%d/readiness", probesPort)
	client := &http.Client{Timeout: time.Second}
	var last string
	err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		select {
		case <-c.controller.done:
			return false, fmt.Errorf("tekton controller exited: %v", c.controller.err)
		default:
		}
		resp, err := client.Get(url)
		if err != nil {
			last = err.Error()
			return false, nil
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			last = "readiness probe: " + resp.Status
			return false, nil
		}
		leases, err := c.Kube.CoordinationV1().Leases(TektonNamespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			last = err.Error()
			return false, nil
		}
		held := map[string]bool{}
		for _, l := range leases.Items {
			if l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity == "" {
				continue
			}
			switch {
			case strings.Contains(l.Name, "reconciler.taskrun."):
				held["taskrun"] = true
			case strings.Contains(l.Name, "reconciler.pipelinerun."):
				held["pipelinerun"] = true
			}
		}
		if !held["taskrun"] || !held["pipelinerun"] {
			last = fmt.Sprintf("waiting for leases of the taskrun and pipelinerun reconcilers (%d leases)", len(leases.Items))
			return false, nil
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("tekton controller not ready (%s): %w", last, err)
	}
	return nil
}
