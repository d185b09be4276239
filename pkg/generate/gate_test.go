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

package generate

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/reconciler/pipelinerun/resources"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"

	mlgate "github.com/mlpipe/mlpipe/pkg/gate"
)

// gateCase is one evaluation outcome: the spec's gate (metric, operator, minDelta), the threshold the run passes,
// the candidate's metric value and the champion's (nil: none compared), and whether register must run.
type gateCase struct {
	name      string
	metric    string
	operator  string
	minDelta  string
	threshold string
	value     float64
	champion  *float64
	// sameModel: the candidate is the champion's own model (a rerun on unchanged data and params).
	sameModel bool
	wantRun   bool
}

func champ(v float64) *float64 { return &v }

var gateCases = []gateCase{
	{name: "accuracy above the threshold, no champion", metric: "accuracy", operator: ">=", minDelta: "0", threshold: "0.8", value: 0.85, wantRun: true},
	{name: "accuracy at the threshold with >=", metric: "accuracy", operator: ">=", minDelta: "0", threshold: "0.8", value: 0.8, wantRun: true},
	{name: "accuracy at the threshold with >", metric: "accuracy", operator: ">", minDelta: "0", threshold: "0.8", value: 0.8, wantRun: false},
	{name: "accuracy below the threshold, no champion", metric: "accuracy", operator: ">=", minDelta: "0", threshold: "0.8", value: 0.75, wantRun: false},
	{name: "run-time threshold above the value", metric: "accuracy", operator: ">=", minDelta: "0", threshold: "0.9", value: 0.85, wantRun: false},
	{name: "accuracy above the threshold, worse than the champion", metric: "accuracy", operator: ">=", minDelta: "0", threshold: "0.8", value: 0.85, champion: champ(0.9), wantRun: false},
	{name: "accuracy equal to the champion, min-delta 0", metric: "accuracy", operator: ">=", minDelta: "0", threshold: "0.8", value: 0.85, champion: champ(0.85), wantRun: false},
	{name: "accuracy better than the champion, min-delta 0", metric: "accuracy", operator: ">=", minDelta: "0", threshold: "0.8", value: 0.86, champion: champ(0.85), wantRun: true},
	{name: "accuracy better than the champion by less than min-delta", metric: "accuracy", operator: ">=", minDelta: "0.05", threshold: "0.8", value: 0.88, champion: champ(0.85), wantRun: false},
	{name: "accuracy better than the champion by exactly min-delta", metric: "accuracy", operator: ">=", minDelta: "0.05", threshold: "0.8", value: 0.9, champion: champ(0.85), wantRun: false},
	{name: "accuracy better than the champion by more than min-delta", metric: "accuracy", operator: ">=", minDelta: "0.05", threshold: "0.8", value: 0.91, champion: champ(0.85), wantRun: true},
	{name: "accuracy below the threshold, better than the champion", metric: "accuracy", operator: ">=", minDelta: "0", threshold: "0.8", value: 0.7, champion: champ(0.6), wantRun: false},
	{name: "f1 above the threshold and the champion", metric: "f1", operator: ">", minDelta: "0.01", threshold: "0.5", value: 0.7, champion: champ(0.6), wantRun: true},
	{name: "log-loss below the threshold, no champion", metric: "log-loss", operator: "<=", minDelta: "0", threshold: "0.5", value: 0.3, wantRun: true},
	{name: "log-loss above the threshold, no champion", metric: "log-loss", operator: "<=", minDelta: "0", threshold: "0.5", value: 0.6, wantRun: false},
	{name: "log-loss at the threshold with <", metric: "log-loss", operator: "<", minDelta: "0", threshold: "0.5", value: 0.5, wantRun: false},
	{name: "log-loss below the threshold, higher than the champion", metric: "log-loss", operator: "<=", minDelta: "0", threshold: "0.5", value: 0.3, champion: champ(0.25), wantRun: false},
	{name: "log-loss equal to the champion, min-delta 0", metric: "log-loss", operator: "<=", minDelta: "0", threshold: "0.5", value: 0.3, champion: champ(0.3), wantRun: false},
	{name: "log-loss lower than the champion by more than min-delta", metric: "log-loss", operator: "<=", minDelta: "0.05", threshold: "0.5", value: 0.3, champion: champ(0.4), wantRun: true},
	{name: "log-loss lower than the champion by exactly min-delta", metric: "log-loss", operator: "<=", minDelta: "0.05", threshold: "0.5", value: 0.25, champion: champ(0.3), wantRun: false},
	{name: "log-loss lower than the champion by less than min-delta", metric: "log-loss", operator: "<=", minDelta: "0.05", threshold: "0.5", value: 0.3, champion: champ(0.32), wantRun: false},
	{name: "log-loss above the threshold, lower than the champion", metric: "log-loss", operator: "<", minDelta: "0", threshold: "0.3", value: 0.35, champion: champ(0.6), wantRun: false},
	{name: "the champion's own model, above the threshold", metric: "accuracy", operator: ">=", minDelta: "0", threshold: "0.8", value: 0.85, champion: champ(0.85), sameModel: true, wantRun: true},
	{name: "the champion's own model, below a raised threshold", metric: "accuracy", operator: ">=", minDelta: "0", threshold: "0.9", value: 0.85, champion: champ(0.85), sameModel: true, wantRun: false},
	{name: "the champion's own log-loss model, min-delta 0.05", metric: "log-loss", operator: "<=", minDelta: "0.05", threshold: "0.5", value: 0.3, champion: champ(0.3), sameModel: true, wantRun: true},
}

// TestGateFormsAgree: for each outcome of evaluate, the result form (register's when on passed) and the CEL form
// (--when=cel) of the generated Pipeline decide the same, as Tekton's own code evaluates them: the run's params
// applied (resources.ApplyParameters), the evaluate TaskRun's results substituted (ResolveResultRefs,
// ApplyTaskResults), the CEL evaluated (EvaluateCEL) and the when expressions checked (AllowsExecution). The
// evaluate results are what the evaluate step writes for that outcome (pkg/gate's Decide and Results).
func TestGateFormsAgree(t *testing.T) {
	for _, tt := range gateCases {
		t.Run(tt.name, func(t *testing.T) {
			for _, when := range []string{WhenResult, WhenCEL} {
				if got := registerRuns(t, tt, when); got != tt.wantRun {
					t.Errorf("--when=%s: register runs = %v, want %v", when, got, tt.wantRun)
				}
			}
		})
	}
}

// TestCELGateFalseBeforeEvaluate: before evaluate has finished, its result references are literal text; the CEL
// gate must evaluate to false there, not to an error (which would fail the PipelineRun).
func TestCELGateFalseBeforeEvaluate(t *testing.T) {
	for _, metric := range []string{"accuracy", "log-loss"} {
		p := gateSpec(t, gateCase{metric: metric, operator: map[string]string{"accuracy": ">=", "log-loss": "<="}[metric], minDelta: "0.01"}, WhenCEL)
		for _, name := range []string{"register", "deploy"} {
			rpt := &resources.ResolvedPipelineTask{PipelineTask: pipelineTask(p, name)}
			if err := rpt.EvaluateCEL(); err != nil {
				t.Fatalf("%s %s: EvaluateCEL before evaluate ran: %v", metric, name, err)
			}
			if rpt.PipelineTask.When.AllowsExecution(rpt.EvaluatedCEL) {
				t.Errorf("%s %s: the CEL gate allows execution before evaluate ran", metric, name)
			}
		}
	}
}

// gateSpec generates the Pipeline of a spec with the case's gate, a registry and a deploy.
func gateSpec(t *testing.T, tt gateCase, when string) *v1.Pipeline {
	t.Helper()
	tail := fmt.Sprintf("  steps:\n    evaluate: {metric: %s, operator: %q, threshold: 0.5, minDelta: %s}\n", tt.metric, tt.operator, tt.minDelta) +
		deployTail("")
	out, err := Generate(context.Background(), specWith(t, "{name: churn}", tail), Options{When: when})
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	return out.Pipeline
}

// registerRuns reports whether Tekton's when evaluation lets register run after evaluate finished with tt's outcome.
func registerRuns(t *testing.T, tt gateCase, when string) bool {
	t.Helper()
	p := gateSpec(t, tt, when)
	pr := &v1.PipelineRun{ObjectMeta: metav1.ObjectMeta{Name: "churn-run"}, Spec: v1.PipelineRunSpec{
		Params: v1.Params{{Name: "threshold", Value: *v1.NewStructuredValues(tt.threshold)}},
	}}
	ps, err := resources.ApplyParameters(&p.Spec, pr)
	if err != nil {
		t.Fatalf("ApplyParameters: %v", err)
	}

	// What the evaluate step writes for this outcome: it parses --threshold and --min-delta as numbers.
	threshold, err := strconv.ParseFloat(tt.threshold, 64)
	if err != nil {
		t.Fatal(err)
	}
	minDelta, err := strconv.ParseFloat(tt.minDelta, 64)
	if err != nil {
		t.Fatal(err)
	}
	in := mlgate.Input{Metric: tt.metric, Operator: tt.operator, Threshold: threshold, Value: tt.value, MinDelta: minDelta}
	if tt.champion != nil {
		in.Champion = &mlgate.Champion{Version: 1, Value: *tt.champion, SameModel: tt.sameModel}
	}
	d, err := mlgate.Decide(in)
	if err != nil {
		t.Fatalf("Decide: %v", err)
	}
	evalResults := mlgate.Results(in, d)

	var state resources.PipelineRunState
	var register *resources.ResolvedPipelineTask
	for i := range ps.Tasks {
		pt := ps.Tasks[i].DeepCopy()
		rpt := &resources.ResolvedPipelineTask{PipelineTask: pt}
		switch pt.Name {
		case "preprocess", "train", "evaluate":
			results := map[string]string{}
			if pt.Name == "evaluate" {
				results["accuracy"], results["metrics-uri"] = "x", "x"
				for k, v := range evalResults {
					results[k] = v
				}
			} else {
				for _, r := range pipelineTaskResults(pt.Name) {
					results[r] = "x"
				}
			}
			rpt.TaskRunNames = []string{"churn-run-" + pt.Name}
			rpt.TaskRuns = []*v1.TaskRun{succeededTaskRun("churn-run-"+pt.Name, results)}
		case "register":
			register = rpt
		}
		state = append(state, rpt)
	}
	if register == nil {
		t.Fatal("no register task")
	}
	refs, _, err := resources.ResolveResultRefs(state, resources.PipelineRunState{register})
	if err != nil {
		t.Fatalf("ResolveResultRefs: %v", err)
	}
	resources.ApplyTaskResults(resources.PipelineRunState{register}, refs)
	if err := register.EvaluateCEL(); err != nil {
		t.Fatalf("--when=%s: EvaluateCEL: %v (when: %+v)", when, err, register.PipelineTask.When)
	}
	return register.PipelineTask.When.AllowsExecution(register.EvaluatedCEL)
}

// pipelineTaskResults names the results register reads from preprocess and train.
func pipelineTaskResults(task string) []string {
	switch task {
	case "preprocess":
		return []string{"dataset-uri", "dataset-digest", "rows", "dropped-rows"}
	case "train":
		return []string{"model-uri", "model-digest"}
	}
	return nil
}

// succeededTaskRun is a finished TaskRun with Succeeded=True and the given string results.
func succeededTaskRun(name string, results map[string]string) *v1.TaskRun {
	tr := &v1.TaskRun{ObjectMeta: metav1.ObjectMeta{Name: name}}
	tr.Status.Status = duckv1.Status{Conditions: duckv1.Conditions{{Type: apis.ConditionSucceeded, Status: corev1.ConditionTrue}}}
	for n, v := range results {
		tr.Status.Results = append(tr.Status.Results, v1.TaskRunResult{Name: n, Type: v1.ResultsTypeString, Value: *v1.NewStructuredValues(v)})
	}
	return tr
}
