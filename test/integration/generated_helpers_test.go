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

package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mlpipe/mlpipe/pkg/generate"
	"github.com/mlpipe/mlpipe/pkg/localrun"
	"github.com/mlpipe/mlpipe/pkg/spec"
	"github.com/mlpipe/mlpipe/test/cluster"
)

// genScenario is one way a run of a generated pipeline goes: what each pipeline task's steps report. The same
// outcomes drive Tekton's real controller (through the stand-in kubelet) and the local runner (through a stub
// step program), so the two can be compared decision for decision.
type genScenario struct {
	name string
	// gate is the evaluate task's passed result ("true"/"false"); the metric results follow it.
	gate string
	// failTask exits 1 (on every attempt) and reports no results.
	failTask string

	// wantSucceeded is the PipelineRun's Succeeded condition status; wantReason its reason.
	wantSucceeded bool
	wantReason    string
	wantRan       []string
	wantSkipped   []string
}

// Metric values that clear (and miss) every threshold of the examples (0.75 for churn, 0.85 for pytorch-gpu), so
// the CEL form of the gate, which compares metric-value with the threshold param, decides like passed does.
const (
	genMetricPass = "0.97"
	genMetricFail = "0.12"
)

var genScenarios = []genScenario{{
	name: "gate passes",
	gate: "true",
	// Succeeded=True, but Tekton's reason is Completed, not Succeeded: the finally alert is skipped by its when
	// expression, and Tekton reports any successful run with a skipped task as Completed.
	wantSucceeded: true,
	wantReason:    "Completed",
	wantRan:       []string{"deploy", "evaluate", "preprocess", "register", "train"},
	wantSkipped:   []string{"alert"},
}, {
	name:          "gate fails",
	gate:          "false",
	wantSucceeded: true,
	wantReason:    "Completed",
	wantRan:       []string{"alert", "evaluate", "preprocess", "train"},
	wantSkipped:   []string{"deploy", "register"},
}, {
	name:        "train fails",
	gate:        "true",
	failTask:    "train",
	wantReason:  "Failed",
	wantRan:     []string{"alert", "preprocess", "train"},
	wantSkipped: []string{"deploy", "evaluate", "register"},
}}

// genParamValues are what the runs pass for Pipeline params without a default: the generator gives none when
// the spec names a path on this machine, as examples/churn does for data-uri and model-store. s3:// locations
// that do not exist are fine: neither the stand-in kubelet nor the local runner's stub steps read them.
var genParamValues = map[string]string{
	"data-uri":    "s3://datasets/churn/train.csv",
	"model-store": "s3://models/churn",
}

// requiredParams returns a value (genParamValues) for each Pipeline param without a default.
func requiredParams(t *testing.T, p *v1.Pipeline) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, ps := range p.Spec.Params {
		if ps.Default != nil {
			continue
		}
		v, ok := genParamValues[ps.Name]
		if !ok {
			t.Fatalf("Pipeline %s: param %s has no default and the test has no value for it", p.Name, ps.Name)
		}
		out[ps.Name] = v
	}
	return out
}

// sortedKeys returns the keys of m in order.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// checkRunnerRBAC checks that the runner ServiceAccount, its Role and RoleBinding are stored as generated, and
// that the API server's RBAC authorizer lets the runner do what the deploy step does to its InferenceService
// (get, create, patch) and nothing more.
func checkRunnerRBAC(t *testing.T, ctx context.Context, c *cluster.Cluster, ns string, out *generate.Output) {
	t.Helper()
	// An object without a namespace went to the one kubectl apply -n named.
	nsOf := func(m metav1.ObjectMeta) string {
		if m.Namespace == "" {
			return ns
		}
		return m.Namespace
	}
	if _, err := c.Kube.CoreV1().ServiceAccounts(nsOf(out.ServiceAccount.ObjectMeta)).Get(ctx, out.ServiceAccount.Name, metav1.GetOptions{}); err != nil {
		t.Errorf("runner ServiceAccount: %v", err)
	}
	deployNS := nsOf(out.Role.ObjectMeta)
	role, err := c.Kube.RbacV1().Roles(deployNS).Get(ctx, out.Role.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("runner Role: %v", err)
	}
	if diff := cmp.Diff(out.Role.Rules, role.Rules); diff != "" {
		t.Errorf("Role %s/%s as stored differs from the generated one (-generated +stored):\n%s", deployNS, role.Name, diff)
	}
	rb, err := c.Kube.RbacV1().RoleBindings(nsOf(out.RoleBinding.ObjectMeta)).Get(ctx, out.RoleBinding.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("runner RoleBinding: %v", err)
	}
	if diff := cmp.Diff(out.RoleBinding.RoleRef, rb.RoleRef); diff != "" {
		t.Errorf("RoleBinding %s roleRef as stored differs (-generated +stored):\n%s", rb.Name, diff)
	}
	if diff := cmp.Diff(out.RoleBinding.Subjects, rb.Subjects); diff != "" {
		t.Errorf("RoleBinding %s subjects as stored differ (-generated +stored):\n%s", rb.Name, diff)
	}

	isvc := out.Role.Rules[0].ResourceNames
	if len(isvc) != 1 {
		t.Fatalf("Role %s names InferenceServices %v, want one", out.Role.Name, isvc)
	}
	user := "system:serviceaccount:" + nsOf(out.ServiceAccount.ObjectMeta) + ":" + out.ServiceAccount.Name
	tests := []struct {
		verb, name string
		want       bool
	}{
		{"get", isvc[0], true}, {"create", isvc[0], true}, {"patch", isvc[0], true},
		{"delete", isvc[0], false}, {"update", isvc[0], false}, {"patch", isvc[0] + "-other", false},
	}
	for _, tt := range tests {
		sar, err := c.Kube.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
			Spec: authorizationv1.SubjectAccessReviewSpec{
				User:   user,
				Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + nsOf(out.ServiceAccount.ObjectMeta), "system:authenticated"},
				ResourceAttributes: &authorizationv1.ResourceAttributes{
					Namespace: deployNS, Verb: tt.verb, Group: "serving.kserve.io", Resource: "inferenceservices", Name: tt.name,
				},
			},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if sar.Status.Allowed != tt.want {
			t.Errorf("%s may %s inferenceservices/%s in %s: %v, want %v (%s)", user, tt.verb, tt.name, deployNS, sar.Status.Allowed, tt.want, sar.Status.Reason)
		}
	}
}

// taskOf returns the Task a pipeline task refers to.
func taskOf(out *generate.Output, pt v1.PipelineTask) *v1.Task {
	if pt.TaskRef == nil {
		return nil
	}
	for _, task := range out.Tasks {
		if task.Name == pt.TaskRef.Name {
			return task
		}
	}
	return nil
}

// allPipelineTasks returns the Pipeline's tasks and finally tasks.
func allPipelineTasks(p *v1.Pipeline) []v1.PipelineTask {
	return append(append([]v1.PipelineTask{}, p.Spec.Tasks...), p.Spec.Finally...)
}

// outcomes gives every pipeline task every result its Task declares (so that each result reference resolves),
// with the gate results set by the scenario, and makes failTask exit 1.
func (sc genScenario) outcomes(t *testing.T, out *generate.Output) cluster.Outcomes {
	t.Helper()
	metric := genMetricPass
	if sc.gate != "true" {
		metric = genMetricFail
	}
	o := cluster.Outcomes{}
	for _, pt := range allPipelineTasks(out.Pipeline) {
		task := taskOf(out, pt)
		if task == nil {
			t.Fatalf("pipeline task %s refers to no generated Task (%v)", pt.Name, pt.TaskRef)
		}
		if pt.Name == sc.failTask {
			o[pt.Name] = cluster.TaskOutcome{ExitCode: 1}
			continue
		}
		results := map[string]string{}
		for _, r := range task.Spec.Results {
			switch r.Name {
			case "passed":
				results[r.Name] = sc.gate
			case "accuracy", "metric-value":
				results[r.Name] = metric
			case "champion-value":
				results[r.Name] = "" // no champion compared: the CEL gate decides on the threshold, as passed does
			case "delivered":
				results[r.Name] = "true"
			default:
				results[r.Name] = fmt.Sprintf("test://%s/%s", pt.Name, r.Name)
			}
		}
		o[pt.Name] = cluster.TaskOutcome{Results: results}
	}
	return o
}

// stubStep is the step program of the local runs: it stands in for `mlpipe step <verb>` (as the SelfCommand)
// and for the user scripts of custom steps. It finds its pipeline task from $TEKTON_RESULTS_DIR
// (<run>/tasks/<pipeline task>/results), copies the scripted results into that folder and exits with the
// scripted code, as the stand-in kubelet reports them to Tekton.
const stubStep = `#!/bin/sh
# usage: stub.sh SCENARIO_DIR step VERB ARGS...
set -eu
scenario="$1"
task="$(basename "$(dirname "$TEKTON_RESULTS_DIR")")"
dir="$scenario/$task"
echo "stub step for pipeline task $task: $*"
if [ -d "$dir/results" ]; then
  for f in "$dir"/results/*; do
    if [ -e "$f" ]; then cp "$f" "$TEKTON_RESULTS_DIR/"; fi
  done
fi
code=0
if [ -f "$dir/exit" ]; then code="$(cat "$dir/exit")"; fi
exit "$code"
`

// writeStubScenario writes the stub program and the scenario folder it reads; it returns the stub's path and
// the scenario folder.
func writeStubScenario(t *testing.T, outcomes cluster.Outcomes) (stub, scenario string) {
	t.Helper()
	dir := t.TempDir()
	stub = filepath.Join(dir, "stub.sh")
	if err := os.WriteFile(stub, []byte(stubStep), 0o755); err != nil {
		t.Fatal(err)
	}
	scenario = filepath.Join(dir, "scenario")
	for task, o := range outcomes {
		rdir := filepath.Join(scenario, task, "results")
		if err := os.MkdirAll(rdir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, value := range o.Results {
			if err := os.WriteFile(filepath.Join(rdir, name), []byte(value), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(scenario, task, "exit"), []byte(strconv.Itoa(o.ExitCode)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return stub, scenario
}

// stubScripts returns copies of the Tasks whose script steps (user scripts such as PyTorch training) run the
// stub instead; steps of the built-in program (command mlpipe-step) are left alone: the local runner sends them
// to the SelfCommand, which is the stub.
func stubScripts(tasks []*v1.Task, stub, scenario string) []*v1.Task {
	out := make([]*v1.Task, 0, len(tasks))
	for _, task := range tasks {
		task = task.DeepCopy()
		for i := range task.Spec.Steps {
			if task.Spec.Steps[i].Script != "" {
				task.Spec.Steps[i].Script = fmt.Sprintf("#!/bin/sh\nexec /bin/sh '%s' '%s' step script-of-%s\n", stub, scenario, task.Spec.Steps[i].Name)
			}
		}
		out = append(out, task)
	}
	return out
}

// localDecisions runs the generated Pipeline with pkg/localrun, every step stubbed with the scenario's outcomes
// and params passing the values of the params without a default, and returns the result with the executed and
// skipped task sets (sorted).
func localDecisions(t *testing.T, ctx context.Context, s *spec.MLPipeline, out *generate.Output, when string, params map[string]string, outcomes cluster.Outcomes) (res *localrun.Result, ran, skipped []string) {
	t.Helper()
	stub, scenario := writeStubScenario(t, outcomes)
	if a := s.Spec.Alert; a != nil && a.Webhook != nil && a.Webhook.SecretRef != nil {
		t.Setenv(localrun.EnvVarForRef("SECRET", a.Webhook.SecretRef.Name, a.Webhook.SecretRef.Key), "http://127.0.0.1:1/unused")
	}
	if when == generate.WhenCEL {
		ctx = localrun.WithCEL(ctx)
	}
	res, err := localrun.Run(ctx, out.Pipeline.DeepCopy(), stubScripts(out.Tasks, stub, scenario), localrun.Options{
		Root:        filepath.Join(t.TempDir(), ".mlpipe"),
		Params:      params,
		NoCache:     true,
		SelfCommand: []string{"/bin/sh", stub, scenario},
	})
	if err != nil {
		t.Fatalf("local run: %v", err)
	}
	for _, task := range res.Tasks {
		switch task.Status {
		case localrun.StatusSkipped:
			skipped = append(skipped, task.Name)
		case localrun.StatusSucceeded, localrun.StatusFailed:
			ran = append(ran, task.Name)
		default:
			t.Errorf("local run: task %s ended %s (%s: %s)", task.Name, task.Status, task.Reason, task.Message)
		}
	}
	sort.Strings(ran)
	sort.Strings(skipped)
	return res, ran, skipped
}

// lastLine returns the last non-empty line of a CLI's output (warnings may come before it).
func lastLine(out []byte) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
