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

package localrun

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"

	"github.com/mlpipe/mlpipe/pkg/cache"
	"github.com/mlpipe/mlpipe/pkg/clusteraccess"
	"github.com/mlpipe/mlpipe/pkg/runnerenv"
)

// BaselineEnv are the host variables every step process gets, the local stand-ins for what a container's image
// and the kubelet give it: where programs are, the user's home and temp folder, locale, time zone, terminal. Every
// LC_* variable joins them. Nothing else of this machine's environment reaches a step unless its Task declares it
// (env, or a secretKeyRef / configMapKeyRef read from MLPIPE_SECRET_* / MLPIPE_CONFIGMAP_*) or Options.PassEnv
// (`mlpipe run --pass-env NAME`) names it; with --deploy-to-cluster KUBECONFIG joins them.
var BaselineEnv = []string{"PATH", "HOME", "USER", "LOGNAME", "SHELL", "TMPDIR", "TZ", "LANG", "LANGUAGE", "TERM"}

// alertNotSentFile is the file in a TaskRun's folder that AlertPreviewFile points at.
const alertNotSentFile = "alert-not-sent.txt"

// stepEnv is the environment of one step process: the baseline host variables (BaselineEnv, LC_*, KUBECONFIG
// when the run may contact the cluster, Options.PassEnv), the step's env, then the runner's own variables
// TEKTON_RESULTS_DIR and MLPIPE_CLUSTER_ACCESS, last so that neither the host nor the Task can override them.
// A secretKeyRef {name: N, key: K} reads MLPIPE_SECRET_<N>_<K> (upper-cased, non-alphanumerics as _), else the
// host variable with the env var's own name; configMapKeyRef reads MLPIPE_CONFIGMAP_<N>_<K> the same way. A
// required key that is not set fails the step, as a missing Secret fails a Pod; the one exception is the built-in
// alert step, which then gets runnerenv.AlertPreviewFile and prints the message instead of sending it.
func (r *runner) stepEnv(step v1.Step, d taskDirs) ([]string, error) {
	env := r.hostEnv()
	alert := builtinStep(step) == "alert"
	missingWebhook := false
	for _, e := range step.Env {
		if e.Name == cache.EnvStore {
			continue // the runner caches a local run's tasks itself: a built-in step must not use the cluster's store
		}
		val := e.Value
		if src := e.ValueFrom; src != nil {
			var (
				kind, name, key string
				optional        bool
			)
			switch {
			case src.SecretKeyRef != nil:
				kind, name, key = "SECRET", src.SecretKeyRef.Name, src.SecretKeyRef.Key
				optional = src.SecretKeyRef.Optional != nil && *src.SecretKeyRef.Optional
			case src.ConfigMapKeyRef != nil:
				kind, name, key = "CONFIGMAP", src.ConfigMapKeyRef.Name, src.ConfigMapKeyRef.Key
				optional = src.ConfigMapKeyRef.Optional != nil && *src.ConfigMapKeyRef.Optional
			default:
				continue
			}
			mapped := EnvVarForRef(kind, name, key)
			v, ok := os.LookupEnv(mapped)
			if !ok {
				v, ok = os.LookupEnv(e.Name)
			}
			if !ok {
				if alert && kind == "SECRET" {
					missingWebhook = true
					continue
				}
				if optional {
					continue
				}
				return nil, fmt.Errorf("env %s comes from %s %s/%s: set %s (or %s) on this machine", e.Name, strings.ToLower(kind), name, key, mapped, e.Name)
			}
			val = v
		}
		env = append(env, e.Name+"="+val)
	}
	if missingWebhook {
		env = append(env, runnerenv.AlertPreviewFile+"="+filepath.Join(d.root, alertNotSentFile))
	}
	return append(env, "TEKTON_RESULTS_DIR="+d.results, clusteraccess.EnvVar+"="+string(r.clusterAccess())), nil
}

// hostEnv is the part of this machine's environment every step gets (see BaselineEnv).
func (r *runner) hostEnv() []string {
	pass := map[string]bool{}
	for _, k := range BaselineEnv {
		pass[k] = true
	}
	for _, k := range r.opts.PassEnv {
		pass[k] = true
	}
	if r.opts.DeployToCluster {
		pass["KUBECONFIG"] = true
	}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if pass[k] || strings.HasPrefix(k, "LC_") {
			env = append(env, kv)
		}
	}
	return env
}

// EnvVarForRef is the host variable that stands in for a Secret ("SECRET") or
// ConfigMap ("CONFIGMAP") key locally: MLPIPE_<KIND>_<NAME>_<KEY>, upper-cased,
// every character other than A-Z and 0-9 replaced by '_'.
func EnvVarForRef(kind, name, key string) string {
	clean := func(s string) string {
		return strings.Map(func(c rune) rune {
			switch {
			case c >= 'a' && c <= 'z':
				return c - 'a' + 'A'
			case c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
				return c
			}
			return '_'
		}, s)
	}
	return "MLPIPE_" + kind + "_" + clean(name) + "_" + clean(key)
}

// readAlertNotSent returns the message a built-in alert step of the run printed instead of sending, if any.
func (r *runner) readAlertNotSent() string {
	for _, name := range r.order {
		if b, err := os.ReadFile(filepath.Join(r.dir, "tasks", name, alertNotSentFile)); err == nil {
			return strings.TrimSpace(string(b))
		}
	}
	return ""
}
