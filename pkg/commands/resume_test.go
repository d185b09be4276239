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

package commands

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/mlpipe/mlpipe/pkg/clusteraccess/clusteraccesstest"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
)

// tektonAPI is a stand-in API server holding one PipelineRun and its TaskRuns in namespace ml; it records
// the PipelineRuns created.
type tektonAPI struct {
	kubeconfig string
	run        *v1.PipelineRun
	taskRuns   []v1.TaskRun

	mu      sync.Mutex
	created []*v1.PipelineRun
	paths   []string
}

func newTektonAPI(t *testing.T, run *v1.PipelineRun, taskRuns ...v1.TaskRun) *tektonAPI {
	a := &tektonAPI{run: run, taskRuns: taskRuns}
	srv := httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(srv.Close)
	// The context's namespace is "other": the tests pass -n ml.
	a.kubeconfig = clusteraccesstest.WriteKubeconfig(t, srv.URL, "other")
	return a
}

func (a *tektonAPI) serve(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.paths = append(a.paths, r.Method+" "+r.URL.Path)
	w.Header().Set("Content-Type", "application/json")
	const base = "/apis/tekton.dev/v1/namespaces/ml/"
	switch {
	case r.Method == http.MethodGet && r.URL.Path == base+"pipelineruns/"+a.run.Name:
		_ = json.NewEncoder(w).Encode(a.run)
	case r.Method == http.MethodGet && r.URL.Path == base+"taskruns":
		sel, err := labels.Parse(r.URL.Query().Get("labelSelector"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		list := &v1.TaskRunList{}
		for _, tr := range a.taskRuns {
			if sel.Matches(labels.Set(tr.Labels)) {
				list.Items = append(list.Items, tr)
			}
		}
		_ = json.NewEncoder(w).Encode(list)
	case r.Method == http.MethodGet && r.URL.Path == base+"pipelineruns":
		_ = json.NewEncoder(w).Encode(&v1.PipelineRunList{})
	case r.Method == http.MethodPost && r.URL.Path == base+"pipelineruns":
		var pr v1.PipelineRun
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &pr); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		a.created = append(a.created, &pr)
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write(body)
	default:
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404,"message":"%s not found"}`, r.URL.Path)
	}
}

func pipelineRunWith(status corev1.ConditionStatus, reason string) *v1.PipelineRun {
	pr := &v1.PipelineRun{
		ObjectMeta: metav1.ObjectMeta{Name: "churn-run-x7k2p", Namespace: "ml"},
		Spec: v1.PipelineRunSpec{
			PipelineRef: &v1.PipelineRef{Name: "churn"},
			Params:      v1.Params{{Name: "epochs", Value: *v1.NewStructuredValues("80")}},
			Workspaces:  []v1.WorkspaceBinding{{Name: "artifacts", VolumeClaimTemplate: &corev1.PersistentVolumeClaim{}}},
		},
	}
	pr.Status.Status = duckv1.Status{Conditions: duckv1.Conditions{{Type: apis.ConditionSucceeded, Status: status, Reason: reason}}}
	return pr
}

func taskRunOf(task string, status corev1.ConditionStatus, reason, cache string) v1.TaskRun {
	tr := v1.TaskRun{ObjectMeta: metav1.ObjectMeta{Name: "churn-run-x7k2p-" + task, Namespace: "ml",
		Labels: map[string]string{"tekton.dev/pipelineRun": "churn-run-x7k2p", "tekton.dev/pipelineTask": task}}}
	tr.Status.Status = duckv1.Status{Conditions: duckv1.Conditions{{Type: apis.ConditionSucceeded, Status: status, Reason: reason}}}
	tr.Status.Results = []v1.TaskRunResult{{Name: "cache", Value: *v1.NewStructuredValues(cache)}}
	return tr
}

func runMLPipe(args ...string) (string, error) {
	root := New()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

func TestResume(t *testing.T) {
	api := newTektonAPI(t, pipelineRunWith(corev1.ConditionFalse, "Failed"),
		taskRunOf("preprocess", corev1.ConditionTrue, "Succeeded", "miss"),
		taskRunOf("train", corev1.ConditionFalse, "Failed", "miss"))
	out, err := runMLPipe("resume", "churn-run-x7k2p", "--kubeconfig", api.kubeconfig, "-n", "ml")
	if err != nil {
		t.Fatalf("mlpipe resume: %v\n%s", err, out)
	}
	if len(api.created) != 1 {
		t.Fatalf("created %d PipelineRuns, want 1", len(api.created))
	}
	got := api.created[0]
	if got.Name != "churn-run-x7k2p-resume-1" || got.Labels["mlpipe.dev/resumes"] != "churn-run-x7k2p" ||
		got.Spec.Params[0].Value.StringVal != "80" || got.Spec.Workspaces[0].VolumeClaimTemplate == nil {
		t.Errorf("created %s labels %v params %v workspaces %v: want churn-run-x7k2p-resume-1, labelled with the run it resumes, "+
			"with its params and volumeClaimTemplate", got.Name, got.Labels, got.Spec.Params, got.Spec.Workspaces)
	}
	for _, want := range []string{
		"PipelineRun churn-run-x7k2p-resume-1 created in namespace ml: it resumes churn-run-x7k2p (failed: train (Failed)).",
		"workspace artifacts: a new claim",
		"Follow it: tkn pipelinerun logs -f churn-run-x7k2p-resume-1 -n ml",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output does not say %q:\n%s", want, out)
		}
	}
}

func TestResumeRefuses(t *testing.T) {
	tests := []struct {
		name     string
		run      *v1.PipelineRun
		taskRuns []v1.TaskRun
		args     []string
		want     string
	}{{
		name: "still running",
		run:  pipelineRunWith(corev1.ConditionUnknown, "Running"),
		want: "PipelineRun churn-run-x7k2p is still running (Succeeded=Unknown, reason Running): wait until it ends, or cancel it (tkn pipelinerun cancel churn-run-x7k2p -n ml)",
	}, {
		name:     "cache off",
		run:      pipelineRunWith(corev1.ConditionFalse, "Failed"),
		taskRuns: []v1.TaskRun{taskRunOf("preprocess", corev1.ConditionTrue, "Succeeded", "off"), taskRunOf("train", corev1.ConditionFalse, "Failed", "off")},
		want:     "no task that finished used the cache (preprocess: cache=off): a resume would run every task again, as a new run does; start a new run, or resume with --uncached",
	}, {
		name: "no such run",
		run:  pipelineRunWith(corev1.ConditionFalse, "Failed"),
		args: []string{"resume", "churn-run-nope", "-n", "ml"},
		want: "no PipelineRun churn-run-nope in namespace ml",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newTektonAPI(t, tt.run, tt.taskRuns...)
			args := tt.args
			if args == nil {
				args = []string{"resume", "churn-run-x7k2p", "-n", "ml"}
			}
			out, err := runMLPipe(append(args, "--kubeconfig", api.kubeconfig)...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("mlpipe resume = %v, want an error containing %q\n%s", err, tt.want, out)
			}
			if len(api.created) != 0 {
				t.Errorf("created %s although resume refused", api.created[0].Name)
			}
		})
	}
}

func TestResumeUncached(t *testing.T) {
	api := newTektonAPI(t, pipelineRunWith(corev1.ConditionFalse, "Failed"),
		taskRunOf("preprocess", corev1.ConditionTrue, "Succeeded", "off"), taskRunOf("train", corev1.ConditionFalse, "Failed", "off"))
	out, err := runMLPipe("resume", "churn-run-x7k2p", "-n", "ml", "--kubeconfig", api.kubeconfig, "--uncached")
	if err != nil {
		t.Fatalf("mlpipe resume --uncached: %v\n%s", err, out)
	}
	if len(api.created) != 1 || !strings.Contains(out, "Every task runs again: no task that finished used the cache") {
		t.Errorf("created %d runs, output:\n%s\nwant one run and a note that every task runs again", len(api.created), out)
	}
}
