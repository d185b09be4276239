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
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/apis"

	"github.com/mlpipe/mlpipe/pkg/generate"
	"github.com/mlpipe/mlpipe/pkg/spec"
	"github.com/mlpipe/mlpipe/test/cluster"
)

// The generated pipelines of the bundled examples on a real API server with Tekton's real controller: the
// generated files are applied with `kubectl apply -k` (CRD schemas, strict field validation), runs are started
// the three ways a user starts them (the sample PipelineRun, `tkn pipeline start`, and the object a schedule or
// trigger creates), everything in a namespace that enforces the restricted Pod Security profile, and Tekton's
// decisions (which tasks ran, which it skipped, how the run ended) are read back from the PipelineRun status
// and compared with what `mlpipe run` decides locally for the same step outcomes. With spec.deploy, every run
// and its Pods run as the generated runner ServiceAccount, whose Role the API server's RBAC authorizer honours.

func TestGeneratedChurnResult(t *testing.T) { testGenerated(t, "churn", generate.WhenResult) }

func TestGeneratedChurnCEL(t *testing.T) { testGenerated(t, "churn", generate.WhenCEL) }

func TestGeneratedPyTorchGPUResult(t *testing.T) {
	testGenerated(t, "pytorch-gpu", generate.WhenResult)
}

func TestGeneratedPyTorchGPUCEL(t *testing.T) { testGenerated(t, "pytorch-gpu", generate.WhenCEL) }

// pipelineScheduleCRD is mlpipe's own CRD, which the generated schedule.yaml needs.
var pipelineScheduleCRD = filepath.Join("..", "..", "config", "300-pipelineschedule.yaml")

func testGenerated(t *testing.T, example, when string) {
	// set-security-context makes Tekton's own init containers pass the restricted profile; the result form of
	// the gate needs no other flag, the CEL form needs enable-cel-in-whenexpression.
	flags := map[string]string{"set-security-context": "true"}
	if when == generate.WhenCEL {
		flags["enable-cel-in-whenexpression"] = "true"
	}
	c := cluster.Start(t, cluster.WithTriggers(), cluster.WithTools("kubectl", "tkn"), cluster.WithFeatureFlags(flags))
	t.Logf("control plane started in %s", c.Timings)

	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	kubectl := func(t *testing.T, args ...string) string {
		t.Helper()
		out, err := c.Kubectl(ctx, append(args, "--cache-dir", filepath.Join(c.Dir, "kubectl-cache"))...)
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}

	// The PipelineSchedule CRD (config/), established before anything refers to it.
	if _, err := c.ApplyFiles(ctx, "", pipelineScheduleCRD); err != nil {
		t.Fatal(err)
	}
	kubectl(t, "wait", "--for=condition=Established", "--timeout=60s", "crd/pipelineschedules.mlpipe.dev")

	ns := c.NewNamespace(t, true)
	if nsObj, err := c.Kube.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	} else if got := nsObj.Labels[cluster.PodSecurityEnforceLabel]; got != "restricted" {
		t.Fatalf("namespace %s: %s=%q, want restricted", ns, cluster.PodSecurityEnforceLabel, got)
	}
	s, err := spec.LoadFile(filepath.Join("..", "..", "examples", example, "mlpipe.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Metadata.Namespace != "" {
		// Every generated object names the spec's namespace itself (the kustomization sets none), and
		// kubectl apply -n refuses objects of another namespace: render for the test's own namespace instead.
		t.Logf("spec namespace %q replaced by the test namespace %q", s.Metadata.Namespace, ns)
		s.Metadata.Namespace = ns
	}
	if d := s.Spec.Deploy; d != nil && d.KServe != nil && d.KServe.Namespace != "" && d.KServe.Namespace != ns {
		// The deploy Role and RoleBinding go to the InferenceService's namespace (pytorch-gpu: serving), which this
		// cluster does not have and kubectl apply -n would refuse: deploy into the test's namespace as well.
		t.Logf("deploy namespace %q replaced by the test namespace %q", d.KServe.Namespace, ns)
		d.KServe.Namespace = ns
	}
	out, err := generate.Generate(ctx, s, generate.Options{When: when})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := generate.WriteDir(dir, out.Files); err != nil {
		t.Fatal(err)
	}
	pipelineName := out.Pipeline.Name
	// runner is what the runs must run as with spec.deploy: the generated ServiceAccount (empty without deploy).
	runner := ""
	if out.ServiceAccount != nil {
		runner = out.ServiceAccount.Name
	}
	// The Pipeline params without a default (examples/churn names local paths) that tkn pipeline start must pass.
	required := requiredParams(t, out.Pipeline)

	// 1. Everything the kustomization lists, through the CRD schemas with strict field validation.
	applied := kubectl(t, "apply", "-k", dir, "-n", ns, "--validate=strict")
	t.Logf("kubectl apply -k:\n%s", applied)
	listed := kubectl(t, "get", "-k", dir, "-n", ns, "-o", "name")
	wantObjects := []string{"pipeline.tekton.dev/" + pipelineName}
	for _, task := range out.Tasks {
		wantObjects = append(wantObjects, "task.tekton.dev/"+task.Name)
	}
	if out.Schedule != nil {
		wantObjects = append(wantObjects, "pipelineschedule.mlpipe.dev/"+out.Schedule.Name)
	}
	if s.Spec.Deploy != nil {
		if out.ServiceAccount == nil || out.Role == nil || out.RoleBinding == nil {
			t.Fatalf("spec has deploy but the generator made no runner ServiceAccount, Role and RoleBinding (%s)", generate.RBACFile)
		}
		wantObjects = append(wantObjects, "serviceaccount/"+out.ServiceAccount.Name,
			"role.rbac.authorization.k8s.io/"+out.Role.Name, "rolebinding.rbac.authorization.k8s.io/"+out.RoleBinding.Name)
	}
	for _, f := range out.Files {
		if strings.HasPrefix(f.Name, "triggers/") {
			wantObjects = append(wantObjects, "eventlistener.triggers.tekton.dev/", "trigger.triggers.tekton.dev/",
				"triggerbinding.triggers.tekton.dev/", "triggertemplate.triggers.tekton.dev/")
			break
		}
	}
	for _, want := range wantObjects {
		if !strings.Contains(listed, want) {
			t.Errorf("after kubectl apply -k, %s is missing; the API server has:\n%s", want, listed)
		}
	}
	// The stored Pipeline is the one the generator produced (no field pruned by the CRD schema).
	stored, err := c.Tekton.TektonV1().Pipelines(ns).Get(ctx, pipelineName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(out.Pipeline.Spec, stored.Spec); diff != "" {
		t.Errorf("Pipeline as stored differs from the generated one (-generated +stored):\n%s", diff)
	}
	if out.ServiceAccount != nil {
		checkRunnerRBAC(t, ctx, c, ns, out)
	}

	// Each scenario starts its run one way; the decisions must not depend on how a run was started.
	starts := []struct {
		how   string
		start func(t *testing.T) string
	}{{
		how: "sample PipelineRun (kubectl create -f pipelinerun.yaml)",
		start: func(t *testing.T) string {
			return nameOf(kubectl(t, "create", "-f", filepath.Join(dir, "pipelinerun.yaml"), "-n", ns, "--validate=strict", "-o", "name"))
		},
	}, {
		how: "tkn pipeline start --use-param-defaults",
		start: func(t *testing.T) string {
			args := []string{"pipeline", "start", pipelineName, "-n", ns, "--use-param-defaults",
				"--workspace", "name=artifacts,volumeClaimTemplateFile=" + filepath.Join(dir, "workspace-template.yaml"),
				"--output", "name"}
			if runner != "" {
				args = append(args, "-s", runner)
			}
			for _, name := range sortedKeys(required) {
				args = append(args, "-p", name+"="+required[name])
			}
			out, err := c.Tkn(ctx, args...)
			if err != nil {
				t.Fatal(err)
			}
			return nameOf(string(out))
		},
	}, {
		how: "generated PipelineRun object (as a schedule or trigger creates it)",
		start: func(t *testing.T) string {
			pr := out.PipelineRun.DeepCopy()
			pr.Namespace = ns
			created, err := c.Tekton.TektonV1().PipelineRuns(ns).Create(ctx, pr, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			return created.Name
		},
	}}

	for i, sc := range genScenarios {
		st := starts[i%len(starts)]
		t.Run(sc.name, func(t *testing.T) {
			outcomes := sc.outcomes(t, out)
			name := st.start(t)
			t.Logf("started PipelineRun %s/%s with %s", ns, name, st.how)
			if pr, err := c.Tekton.TektonV1().PipelineRuns(ns).Get(ctx, name, metav1.GetOptions{}); err != nil {
				t.Fatal(err)
			} else if got := pr.Spec.TaskRunTemplate.ServiceAccountName; runner != "" && got != runner {
				t.Errorf("PipelineRun %s: taskRunTemplate.serviceAccountName %q, want the runner %s", name, got, runner)
			}

			// 2. Tekton's controller accepts the run: it creates the first TaskRun.
			first := out.Pipeline.Spec.Tasks[0].Name
			if _, err := c.WaitForPipelineRun(ctx, ns, name, func(pr *v1.PipelineRun) (bool, error) {
				if cond := pr.Status.GetCondition(apis.ConditionSucceeded); cond != nil && cond.IsFalse() {
					return false, fmt.Errorf("Tekton did not accept the PipelineRun: %s: %s", cond.Reason, cond.Message)
				}
				for _, ref := range pr.Status.ChildReferences {
					if ref.PipelineTaskName == first {
						return true, nil
					}
				}
				return false, nil
			}); err != nil {
				t.Fatal(err)
			}

			// 3. Play kubelet until Tekton finishes the run, then read its decisions.
			start := time.Now()
			pr, err := c.DrivePipelineRun(ctx, ns, name, outcomes)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("PipelineRun %s done in %s", name, time.Since(start).Round(time.Millisecond))
			cond := pr.Status.GetCondition(apis.ConditionSucceeded)
			t.Logf("Tekton: %s %s (%s); ran %v; skipped %v", cond.Status, cond.Reason, cond.Message, cluster.RanTasks(pr), cluster.SkippedTasks(pr))
			if cond.IsTrue() != sc.wantSucceeded {
				t.Errorf("PipelineRun Succeeded condition: want %v, got %s %s (%s)", sc.wantSucceeded, cond.Status, cond.Reason, cond.Message)
			}
			if cond.Reason != sc.wantReason {
				t.Errorf("PipelineRun reason: want %s, got %s (%s)", sc.wantReason, cond.Reason, cond.Message)
			}
			if diff := cmp.Diff(sc.wantRan, cluster.RanTasks(pr)); diff != "" {
				t.Errorf("tasks Tekton ran (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(sc.wantSkipped, cluster.SkippedTasks(pr)); diff != "" {
				t.Errorf("tasks Tekton skipped (-want +got):\n%s", diff)
			}
			trs, err := c.ChildTaskRuns(ctx, ns, name)
			if err != nil {
				t.Fatal(err)
			}
			checkGateSkips(t, sc, pr)
			if sc.failTask == "" {
				prResults := map[string]string{}
				for _, r := range pr.Status.Results {
					prResults[r.Name] = r.Value.StringVal
				}
				if prResults["passed"] != sc.gate {
					t.Errorf("PipelineRun result passed: want %q, got %q (results %v)", sc.gate, prResults["passed"], prResults)
				}
			}
			checkResultsResolved(t, sc, outcomes, trs)

			// 4. The restricted namespace admitted every Pod Tekton made for our Tasks.
			for task, tr := range trs {
				trCond := tr.Status.GetCondition(apis.ConditionSucceeded)
				if trCond != nil && trCond.Reason == "PodAdmissionFailed" {
					t.Errorf("TaskRun %s (%s): Pod not admitted: %s", tr.Name, task, trCond.Message)
					continue
				}
				if tr.Status.PodName == "" {
					t.Errorf("TaskRun %s (%s) has no Pod", tr.Name, task)
					continue
				}
				pod, err := c.Kube.CoreV1().Pods(ns).Get(ctx, tr.Status.PodName, metav1.GetOptions{})
				if err != nil {
					t.Errorf("Pod of TaskRun %s (%s): %v", tr.Name, task, err)
					continue
				}
				if got := pod.Spec.ServiceAccountName; runner != "" && got != runner {
					t.Errorf("Pod %s of TaskRun %s (%s) runs as ServiceAccount %q, want %s", pod.Name, tr.Name, task, got, runner)
				}
			}

			// 5. The local runner decides the same for the same step outcomes.
			start = time.Now()
			local, ran, skipped := localDecisions(t, ctx, s, out, when, required, outcomes)
			t.Logf("local run done in %s: %s %s; ran %v; skipped %v", time.Since(start).Round(time.Millisecond), local.Status, local.Reason, ran, skipped)
			if diff := cmp.Diff(cluster.RanTasks(pr), ran); diff != "" {
				t.Errorf("executed tasks: local run vs Tekton (-tekton +local):\n%s", diff)
			}
			if diff := cmp.Diff(cluster.SkippedTasks(pr), skipped); diff != "" {
				t.Errorf("skipped tasks: local run vs Tekton (-tekton +local):\n%s", diff)
			}
			wantStatus := string(cond.Status)
			if (wantStatus == "True") != local.Succeeded() {
				t.Errorf("run outcome: Tekton %s %s, local %s %s", cond.Status, cond.Reason, local.Status, local.Reason)
			}
			if local.Reason != cond.Reason {
				t.Errorf("run reason: Tekton %s, local %s", cond.Reason, local.Reason)
			}
			// Retries: Tekton's attempts of each task (1 + retriesStatus) equal the local attempts.
			for task, tr := range trs {
				lt := local.Task(task)
				if lt == nil {
					continue
				}
				if got, want := lt.Attempts, 1+len(tr.Status.RetriesStatus); got != want {
					t.Errorf("task %s: local run made %d attempts, Tekton %d", task, got, want)
				}
			}
			if sc.failTask != "" {
				retries := 0
				for _, pt := range out.Pipeline.Spec.Tasks {
					if pt.Name == sc.failTask {
						retries = pt.Retries
					}
				}
				if tr := trs[sc.failTask]; tr == nil {
					t.Errorf("failing task %s has no TaskRun", sc.failTask)
				} else if got := len(tr.Status.RetriesStatus); got != retries {
					t.Errorf("failing task %s: want %d retries by Tekton, got %d", sc.failTask, retries, got)
				} else {
					t.Logf("failing task %s: %d attempts on the cluster and locally (retries: %d)", sc.failTask, 1+retries, retries)
				}
			}
		})
	}
}

// checkGateSkips checks why Tekton skipped the gated and finally tasks.
func checkGateSkips(t *testing.T, sc genScenario, pr *v1.PipelineRun) {
	t.Helper()
	for _, s := range pr.Status.SkippedTasks {
		gated := s.Name == "register" || s.Name == "deploy"
		if (gated && sc.failTask == "") || s.Name == "alert" {
			if s.Reason != v1.WhenExpressionsSkip {
				t.Errorf("%s skipped for %q, want %q", s.Name, s.Reason, v1.WhenExpressionsSkip)
			}
		}
	}
}

// checkResultsResolved checks that Tekton resolved the result references of the gated tasks from the results
// the stand-in kubelet reported.
func checkResultsResolved(t *testing.T, sc genScenario, outcomes cluster.Outcomes, trs map[string]*v1.TaskRun) {
	t.Helper()
	if ev, ok := trs["evaluate"]; ok && sc.failTask == "" {
		got := map[string]string{}
		for _, r := range ev.Status.Results {
			got[r.Name] = r.Value.StringVal
		}
		if diff := cmp.Diff(outcomes["evaluate"].Results, got); diff != "" {
			t.Errorf("results Tekton read for evaluate (-reported +read):\n%s", diff)
		}
	}
	params := func(task string) map[string]string {
		m := map[string]string{}
		if tr, ok := trs[task]; ok {
			for _, p := range tr.Spec.Params {
				m[p.Name] = p.Value.StringVal
			}
		}
		return m
	}
	if _, ok := trs["register"]; ok {
		if got, want := params("register")["model-uri"], outcomes["train"].Results["model-uri"]; got != want {
			t.Errorf("register's model-uri param: want train's result %q, got %q", want, got)
		}
	}
	if _, ok := trs["deploy"]; ok {
		if got, want := params("deploy")["model-uri"], outcomes["register"].Results["model-uri"]; got != want {
			t.Errorf("deploy's model-uri param: want register's result %q, got %q", want, got)
		}
	}
}

// nameOf turns CLI output ("pipelinerun.tekton.dev/x" from kubectl -o name, "x" from tkn) into the name.
func nameOf(out string) string {
	line := lastLine([]byte(out))
	return line[strings.LastIndex(line, "/")+1:]
}
