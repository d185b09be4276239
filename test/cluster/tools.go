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
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Environment variables naming the tool binaries; hack/tools-env.sh prints them.
const (
	// EnvAssets names the directory holding etcd, kube-apiserver and kubectl (envtest's variable).
	EnvAssets = "KUBEBUILDER_ASSETS"
	// EnvTektonController names Tekton Pipelines' controller binary.
	EnvTektonController = "MLPIPE_TEKTON_CONTROLLER_BIN"
	// EnvKubectl names the kubectl binary.
	EnvKubectl = "MLPIPE_KUBECTL_BIN"
	// EnvMinIO names the MinIO server binary.
	EnvMinIO = "MLPIPE_MINIO_BIN"
	// EnvTkn names the tkn binary.
	EnvTkn = "MLPIPE_TKN_BIN"
	// EnvKubeControllerManager names kube-controller-manager (the real node).
	EnvKubeControllerManager = "MLPIPE_KCM_BIN"
	// EnvKubeScheduler names kube-scheduler (the real node).
	EnvKubeScheduler = "MLPIPE_KUBE_SCHEDULER_BIN"
	// EnvKubelet names the kubelet (the real node).
	EnvKubelet = "MLPIPE_KUBELET_BIN"
	// EnvTektonEntrypoint, EnvTektonNop, EnvTektonWorkingDirInit and EnvTektonSidecarLogResults name the
	// programs of Tekton's own Pod images (the real node packs them into images).
	EnvTektonEntrypoint        = "MLPIPE_TEKTON_ENTRYPOINT_BIN"
	EnvTektonNop               = "MLPIPE_TEKTON_NOP_BIN"
	EnvTektonWorkingDirInit    = "MLPIPE_TEKTON_WORKINGDIRINIT_BIN"
	EnvTektonSidecarLogResults = "MLPIPE_TEKTON_SIDECARLOGRESULTS_BIN"
	// EnvKServeManager names KServe's controller manager (KServeVersion; the real node serves its predictors).
	EnvKServeManager = "MLPIPE_KSERVE_MANAGER_BIN"
	// EnvRequireTools, when "true" or "1", turns a missing tool from a skipped test into a failed one (for CI,
	// where the tools are always built first).
	EnvRequireTools = "MLPIPE_REQUIRE_TOOLS"
)

// BuildHint tells a user how to get the tools; tests that skip print it.
const BuildHint = "run `make test` (it builds them with hack/build-tools.sh), or `hack/build-tools.sh` and then " +
	"`eval \"$(hack/tools-env.sh)\"` before `go test`"

// Tools holds the paths of the binaries the harness runs.
type Tools struct {
	// AssetsDir holds etcd and kube-apiserver (and kubectl), for envtest.
	AssetsDir string
	// TektonController is Tekton Pipelines' controller.
	TektonController string
	// Kubectl is kubectl, from the same Kubernetes release as kube-apiserver.
	Kubectl string
	// MinIO is the MinIO server.
	MinIO string
	// Tkn is Tekton's CLI.
	Tkn string
	// KubeControllerManager, KubeScheduler and Kubelet run the real node.
	KubeControllerManager, KubeScheduler, Kubelet string
	// TektonBins maps entrypoint, nop, workingdirinit and sidecarlogresults to the programs of Tekton's images.
	TektonBins map[string]string
	// KServeManager is KServe's controller manager (StartKServe).
	KServeManager string
}

// toolEnvs are every variable FindTools reads.
var toolEnvs = []string{EnvAssets, EnvTektonController, EnvKubectl, EnvMinIO, EnvTkn, EnvKubeControllerManager,
	EnvKubeScheduler, EnvKubelet, EnvTektonEntrypoint, EnvTektonNop, EnvTektonWorkingDirInit, EnvTektonSidecarLogResults, EnvKServeManager}

func (t Tools) etcd() string          { return filepath.Join(t.AssetsDir, "etcd") }
func (t Tools) kubeAPIServer() string { return filepath.Join(t.AssetsDir, "kube-apiserver") }

// FindTools reads the tool paths from the environment (see hack/tools-env.sh). Variables that are unset are
// filled in by running hack/tools-env.sh from the enclosing mlpipe checkout, so `go test` works after
// `hack/build-tools.sh` without the eval. It does not check that the binaries exist: see Tools.Missing.
func FindTools() (Tools, error) {
	vars := map[string]string{}
	for _, k := range toolEnvs {
		if v := os.Getenv(k); v != "" {
			vars[k] = v
		}
	}
	if len(vars) < len(toolEnvs) {
		fromScript, err := toolsEnvFromScript()
		if err != nil {
			return Tools{}, err
		}
		for k, v := range fromScript {
			if _, ok := vars[k]; !ok {
				vars[k] = v
			}
		}
	}
	return Tools{
		AssetsDir:             vars[EnvAssets],
		TektonController:      vars[EnvTektonController],
		Kubectl:               vars[EnvKubectl],
		MinIO:                 vars[EnvMinIO],
		Tkn:                   vars[EnvTkn],
		KubeControllerManager: vars[EnvKubeControllerManager],
		KubeScheduler:         vars[EnvKubeScheduler],
		Kubelet:               vars[EnvKubelet],
		TektonBins: map[string]string{
			"entrypoint":        vars[EnvTektonEntrypoint],
			"nop":               vars[EnvTektonNop],
			"workingdirinit":    vars[EnvTektonWorkingDirInit],
			"sidecarlogresults": vars[EnvTektonSidecarLogResults],
		},
		KServeManager: vars[EnvKServeManager],
	}, nil
}

// Missing lists the binaries (by environment variable and path) that are not built: the control plane needs
// etcd, kube-apiserver and the Tekton controller; extra names any of "kubectl", "minio", "tkn", "kserve" and
// "node" (the real node's binaries) as well.
func (t Tools) Missing(extra ...string) []string {
	type need struct{ env, path string }
	needs := []need{
		{EnvAssets, filepath.Join(t.AssetsDir, "etcd")},
		{EnvAssets, filepath.Join(t.AssetsDir, "kube-apiserver")},
		{EnvTektonController, t.TektonController},
	}
	for _, e := range extra {
		switch e {
		case "kubectl":
			needs = append(needs, need{EnvKubectl, t.Kubectl})
		case "minio":
			needs = append(needs, need{EnvMinIO, t.MinIO})
		case "tkn":
			needs = append(needs, need{EnvTkn, t.Tkn})
		case "kserve":
			needs = append(needs, need{EnvKServeManager, t.KServeManager})
		case "node":
			needs = append(needs, need{EnvKubeControllerManager, t.KubeControllerManager},
				need{EnvKubeScheduler, t.KubeScheduler}, need{EnvKubelet, t.Kubelet},
				need{EnvTektonEntrypoint, t.TektonBins["entrypoint"]}, need{EnvTektonNop, t.TektonBins["nop"]},
				need{EnvTektonWorkingDirInit, t.TektonBins["workingdirinit"]},
				need{EnvTektonSidecarLogResults, t.TektonBins["sidecarlogresults"]})
		default:
			needs = append(needs, need{e, "(unknown tool)"})
		}
	}
	var missing []string
	for _, n := range needs {
		if !isExecutable(n.path) {
			missing = append(missing, fmt.Sprintf("%s (%s)", n.path, n.env))
		}
	}
	return missing
}

// RequireTools returns the tools, or skips the test when one of them is not built (fails it instead when
// MLPIPE_REQUIRE_TOOLS is set). extra is passed to Tools.Missing.
func RequireTools(t testing.TB, extra ...string) Tools {
	t.Helper()
	tools, err := FindTools()
	if err != nil {
		t.Fatalf("locating the test tools: %v", err)
	}
	missing := tools.Missing(extra...)
	if len(missing) == 0 {
		return tools
	}
	Unavailable(t, fmt.Sprintf("test tools not built: %s; %s", strings.Join(missing, ", "), BuildHint))
	return tools
}

// Unavailable skips the test with msg, or fails it when MLPIPE_REQUIRE_TOOLS is set (CI, make test): a part
// the test needs is missing on this machine.
func Unavailable(t testing.TB, msg string) {
	t.Helper()
	if required, _ := strconv.ParseBool(os.Getenv(EnvRequireTools)); required {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

func isExecutable(path string) bool {
	if path == "" {
		return false
	}
	st, err := os.Stat(path)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// RepoRoot finds the root of the mlpipe checkout enclosing the working directory (the directory holding
// hack/tools-env.sh).
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("error getting the working directory: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "hack", "tools-env.sh")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no hack/tools-env.sh above the working directory: run from inside the mlpipe checkout")
		}
		dir = parent
	}
}

// toolsEnvFromScript runs hack/tools-env.sh and parses its `export NAME=value` lines.
func toolsEnvFromScript() (map[string]string, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("bash", filepath.Join(root, "hack", "tools-env.sh"))
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("error running hack/tools-env.sh: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	vars := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "export ")
		if !ok {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		vars[k] = unquoteShell(v)
	}
	return vars, sc.Err()
}

// unquoteShell undoes the quoting bash's printf %q applies to a path (backslash escapes or $'…').
func unquoteShell(v string) string {
	if strings.HasPrefix(v, "$'") && strings.HasSuffix(v, "'") {
		if s, err := strconv.Unquote(`"` + strings.ReplaceAll(v[2:len(v)-1], `"`, `\"`) + `"`); err == nil {
			return s
		}
	}
	var b strings.Builder
	escaped := false
	for _, r := range v {
		if r == '\\' && !escaped {
			escaped = true
			continue
		}
		escaped = false
		b.WriteRune(r)
	}
	return b.String()
}
