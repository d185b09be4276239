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
	"context"
	"sort"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/reconciler/pipeline/dag"
)

// tektonDecisions walks a Pipeline with Tekton's dag.GetCandidateTasks and
// v1.WhenExpressions (ReplaceVariables, then AllowsExecution) directly, with
// the given task results, and returns the executed and skipped task names.
func tektonDecisions(t *testing.T, p *v1.Pipeline, results map[string]map[string]string) (executed, skipped []string) {
	t.Helper()
	// Tekton's WhenExpressions.ReplaceVariables rewrites its receiver in
	// place: walk a copy so the caller's Pipeline keeps its result references.
	p = p.DeepCopy()
	g, err := dag.Build(v1.PipelineTaskList(p.Spec.Tasks), v1.PipelineTaskList(p.Spec.Tasks).Deps())
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]v1.PipelineTask{}
	for _, pt := range p.Spec.Tasks {
		byName[pt.Name] = pt
	}
	repl := map[string]string{}
	decided := map[string]bool{}
	var done []string
	for {
		cands, err := dag.GetCandidateTasks(g, done...)
		if err != nil {
			t.Fatal(err)
		}
		names := cands.List()
		sort.Strings(names)
		progress := false
		for _, name := range names {
			if decided[name] {
				continue
			}
			decided[name], progress = true, true
			done = append(done, name)
			if !byName[name].When.ReplaceVariables(repl, nil).AllowsExecution(nil) {
				skipped = append(skipped, name)
				continue
			}
			executed = append(executed, name)
			for k, v := range results[name] {
				repl["tasks."+name+".results."+k] = v
			}
		}
		if !progress {
			break
		}
	}
	status := "Succeeded"
	if len(skipped) > 0 {
		status = "Completed"
	}
	repl["tasks.status"] = status
	for _, name := range executed {
		repl["tasks."+name+".status"] = "Succeeded"
	}
	for _, pt := range p.Spec.Finally {
		if pt.When.ReplaceVariables(repl, nil).AllowsExecution(nil) {
			executed = append(executed, pt.Name)
		} else {
			skipped = append(skipped, pt.Name)
		}
	}
	sort.Strings(executed)
	sort.Strings(skipped)
	return executed, skipped
}

func TestSameDecisionsAsTekton(t *testing.T) {
	tests := []struct {
		name     string
		accuracy string
		passed   string
	}{
		{name: "gate passes", accuracy: "0.95", passed: "true"},
		{name: "gate fails", accuracy: "0.5", passed: "false"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs := gatePipeline(t, false)
			deps := v1.PipelineTaskList(objs.Pipeline.Spec.Tasks).Deps()
			wantExec, wantSkip := tektonDecisions(t, objs.Pipeline, map[string]map[string]string{
				"evaluate": {"passed": tt.passed, "accuracy": tt.accuracy},
			})
			opts := testOptions(t)
			opts.Params = map[string]string{"accuracy": tt.accuracy}
			// Record the order in which tasks start and finish: a task may
			// start only after every task it depends on has finished.
			var mu sync.Mutex
			finished := map[string]bool{}
			var early []string
			opts.Events = func(e Event) {
				mu.Lock()
				defer mu.Unlock()
				switch e.Status {
				case StatusRunning:
					for _, dep := range deps[e.Task] {
						if !finished[dep] {
							early = append(early, e.Task+" before "+dep)
						}
					}
				case StatusSucceeded, StatusFailed, StatusSkipped, StatusCached:
					finished[e.Task] = true
				}
			}
			res, err := Run(context.Background(), objs.Pipeline, objs.Tasks, opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(early) > 0 {
				t.Errorf("tasks started before their dependencies finished: %v", early)
			}
			var gotExec, gotSkip []string
			for _, task := range res.Tasks {
				switch task.Status {
				case StatusSucceeded, StatusCached:
					gotExec = append(gotExec, task.Name)
				case StatusSkipped:
					gotSkip = append(gotSkip, task.Name)
				}
			}
			sort.Strings(gotExec)
			sort.Strings(gotSkip)
			if d := cmp.Diff(wantExec, gotExec); d != "" {
				for _, task := range res.Tasks {
					t.Logf("%s: %s %s %s", task.Name, task.Status, task.Reason, task.Message)
				}
				t.Errorf("executed (-tekton +runner):\n%s", d)
			}
			if d := cmp.Diff(wantSkip, gotSkip); d != "" {
				t.Errorf("skipped (-tekton +runner):\n%s", d)
			}
		})
	}
}
