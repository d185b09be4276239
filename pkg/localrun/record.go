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
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"sigs.k8s.io/yaml"

	"github.com/mlpipe/mlpipe/pkg/cache"
)

// A run folder, .mlpipe/runs/<pipeline>/<run-id>/, holds:
//
//	run.json              the Result (status, tasks, results, gate, params)
//	pipeline.yaml         the Pipeline and Tasks exactly as given to Run
//	pipelinerun.yaml      the PipelineRun with its final status
//	metrics.json          a copy of the gate task's metrics-uri file, if any
//	tasks/<task>/         log.txt, results/, taskrun.yaml (status.taskSpec is
//	                      the substituted spec that ran), cache.json
//	workspaces/<name>/    the pipeline workspaces

// recordObjects writes the objects that run, before anything executes.
func (r *runner) recordObjects() error {
	var buf bytes.Buffer
	p := r.pipeline.DeepCopy()
	p.TypeMeta.APIVersion, p.TypeMeta.Kind = "tekton.dev/v1", "Pipeline"
	if err := appendYAML(&buf, p); err != nil {
		return err
	}
	for _, name := range sortedKeys(r.tasks) {
		t := r.tasks[name].DeepCopy()
		t.TypeMeta.APIVersion, t.TypeMeta.Kind = "tekton.dev/v1", "Task"
		if err := appendYAML(&buf, t); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(r.dir, 0o755); err != nil {
		return fmt.Errorf("error creating run folder: %w", err)
	}
	return os.WriteFile(filepath.Join(r.dir, "pipeline.yaml"), buf.Bytes(), 0o644)
}

func appendYAML(buf *bytes.Buffer, obj any) error {
	b, err := yaml.Marshal(obj)
	if err != nil {
		return err
	}
	if buf.Len() > 0 {
		buf.WriteString("---\n")
	}
	buf.Write(b)
	return nil
}

func (r *runner) recordTaskRun(task string, tr *v1.TaskRun) error {
	b, err := yaml.Marshal(tr)
	if err != nil {
		return err
	}
	dir := r.dirsFor(task).root
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "taskrun.yaml"), b, 0o644)
}

func (r *runner) recordRun(res *Result) error {
	b, err := yaml.Marshal(r.pr)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(r.dir, "pipelinerun.yaml"), b, 0o644); err != nil {
		return err
	}
	return writeJSON(filepath.Join(r.dir, "run.json"), res)
}

// ListRuns returns the recorded runs under root (".mlpipe" when empty), oldest first.
func ListRuns(root string) ([]*Result, error) {
	if root == "" {
		root = ".mlpipe"
	}
	paths, err := filepath.Glob(filepath.Join(root, "runs", "*", "*", "run.json"))
	if err != nil {
		return nil, err
	}
	var out []*Result
	for _, p := range paths {
		res, err := readRun(p)
		if err != nil {
			return nil, err
		}
		out = append(out, res)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Started.Before(out[j].Started) })
	return out, nil
}

func readRun(path string) (*Result, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var res Result
	if err := json.Unmarshal(b, &res); err != nil {
		return nil, fmt.Errorf("error reading run record %s: %w", path, err)
	}
	res.Dir = filepath.Dir(path)
	return &res, nil
}

// LoadRun finds a recorded run by id ("<run-id>", "<pipeline>/<run-id>", or
// "latest" for the most recent run).
func LoadRun(root, id string) (*Result, error) {
	runs, err := ListRuns(root)
	if err != nil {
		return nil, err
	}
	if len(runs) == 0 {
		return nil, errors.New("no recorded runs; start one with mlpipe run")
	}
	if id == "latest" || id == "" {
		return runs[len(runs)-1], nil
	}
	var found []*Result
	for _, r := range runs {
		if r.RunID == id || r.Pipeline+"/"+r.RunID == id || r.PipelineRun == id {
			found = append(found, r)
		}
	}
	switch len(found) {
	case 0:
		return nil, fmt.Errorf("no run %q (see mlpipe runs list)", id)
	case 1:
		return found[0], nil
	}
	return nil, fmt.Errorf("run id %q is ambiguous; use <pipeline>/<run-id>", id)
}

// Explain says why a task of a recorded run hit or missed the cache: for a
// miss, which inputs differ from the most recent earlier run of the same
// pipeline that recorded a key for the task.
func Explain(root, runID, task string) (string, error) {
	run, err := LoadRun(root, runID)
	if err != nil {
		return "", err
	}
	d, err := readDecision(run.Dir, task)
	if err != nil {
		if t := run.Task(task); t != nil && t.Status == StatusSkipped {
			return fmt.Sprintf("%s was skipped in run %s (%s); the cache was not consulted", task, run.RunID, t.Reason), nil
		}
		if run.Task(task) == nil {
			return "", fmt.Errorf("run %s has no task %q", run.RunID, task)
		}
		return "", fmt.Errorf("task %s of run %s recorded no cache decision: %w", task, run.RunID, err)
	}
	var b strings.Builder
	switch d.Decision {
	case "disabled":
		fmt.Fprintf(&b, "%s in run %s: not cached: %s\n", task, run.RunID, d.Reason)
		return b.String(), nil
	case "hit":
		fmt.Fprintf(&b, "%s in run %s: cache HIT, key %s\n", task, run.RunID, short(d.Key.Sum))
		fmt.Fprintf(&b, "  outputs and results restored from run %s: the same Task, params, input artifacts, programs and workspace contents\n", d.CachedFrom)
		writeComponents(&b, d.Key)
		return b.String(), nil
	}
	fmt.Fprintf(&b, "%s in run %s: cache MISS, key %s\n", task, run.RunID, short(d.Key.Sum))
	prev, prevRun := previousDecision(root, run, task)
	if prev == nil {
		fmt.Fprintf(&b, "  no earlier run of pipeline %s recorded a key for %s: nothing to reuse yet\n", run.Pipeline, task)
		return b.String(), nil
	}
	if prev.Key.Sum == d.Key.Sum {
		fmt.Fprintf(&b, "  run %s had the same key but left no usable entry (it failed, the cache was pruned or cleared, or a stored file is gone)\n", prevRun.RunID)
		return b.String(), nil
	}
	fmt.Fprintf(&b, "  compared with run %s (key %s), these inputs changed:\n", prevRun.RunID, short(prev.Key.Sum))
	for _, line := range diffKeys(prev.Key, d.Key) {
		fmt.Fprintf(&b, "  - %s\n", line)
	}
	return b.String(), nil
}

func short(s string) string { return cache.Short(s) }

func writeComponents(b *strings.Builder, k *cacheKey) {
	for _, name := range sortedKeys(k.Components) {
		fmt.Fprintf(b, "  %s = %s\n", name, clip(k.Components[name]))
	}
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}

func readDecision(runDir, task string) (*decision, error) {
	b, err := os.ReadFile(filepath.Join(runDir, "tasks", task, "cache.json"))
	if err != nil {
		return nil, err
	}
	var d decision
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, err
	}
	if d.Decision != "disabled" && d.Key == nil {
		return nil, errors.New("cache.json has no key")
	}
	return &d, nil
}

func previousDecision(root string, run *Result, task string) (*decision, *Result) {
	runs, err := ListRuns(root)
	if err != nil {
		return nil, nil
	}
	for i := len(runs) - 1; i >= 0; i-- {
		r := runs[i]
		if r.Pipeline != run.Pipeline || !r.Started.Before(run.Started) {
			continue
		}
		if d, err := readDecision(r.Dir, task); err == nil && d.Key != nil {
			return d, r
		}
	}
	return nil, nil
}

// diffKeys lists the components that differ between two keys, in words.
func diffKeys(old, cur *cacheKey) []string {
	var out []string
	names := map[string]bool{}
	for n := range old.Components {
		names[n] = true
	}
	for n := range cur.Components {
		names[n] = true
	}
	for _, n := range sortedKeys(names) {
		a, inOld := old.Components[n]
		b, inCur := cur.Components[n]
		kind, name, _ := strings.Cut(n, ":")
		switch {
		case a == b:
			continue
		case !inOld:
			out = append(out, fmt.Sprintf("%s %s is new (%s)", kind, name, clip(b)))
		case !inCur:
			out = append(out, fmt.Sprintf("%s %s is gone (was %s)", kind, name, clip(a)))
		case kind == "param":
			out = append(out, fmt.Sprintf("param %s: %q -> %q", name, clip(a), clip(b)))
		case kind == "input":
			out = append(out, fmt.Sprintf("input artifact behind param %s changed contents (sha256 %s -> %s)", name, short(a), short(b)))
		case kind == "workspace":
			out = append(out, fmt.Sprintf("workspace %s contents at task start changed: %s", name, fileChanges(old.Files[name], cur.Files[name])))
		case kind == "program":
			out = append(out, fmt.Sprintf("the program step %s runs was rebuilt or replaced (%s -> %s)", name, clip(a), clip(b)))
		case n == cache.ComponentTask:
			out = append(out, "the Task's spec changed: "+specChange(old.Spec, cur.Spec))
		case kind == "context":
			out = append(out, fmt.Sprintf("context %s: %s -> %s", name, clip(a), clip(b)))
		default:
			out = append(out, fmt.Sprintf("%s: %s -> %s", n, clip(a), clip(b)))
		}
	}
	if len(out) == 0 {
		out = append(out, "the key format changed (cache version)")
	}
	return out
}

func fileChanges(old, cur map[string]string) string {
	var changed []string
	for f, sum := range cur {
		if o, ok := old[f]; !ok {
			changed = append(changed, "+"+f)
		} else if o != sum {
			changed = append(changed, "~"+f)
		}
	}
	for f := range old {
		if _, ok := cur[f]; !ok {
			changed = append(changed, "-"+f)
		}
	}
	sort.Strings(changed)
	if len(changed) > 8 {
		changed = append(changed[:8], fmt.Sprintf("and %d more", len(changed)-8))
	}
	return strings.Join(changed, ", ")
}

// specChange names the first top-level fields of the TaskSpec that differ.
func specChange(a, b json.RawMessage) string {
	var ma, mb map[string]json.RawMessage
	if json.Unmarshal(a, &ma) != nil || json.Unmarshal(b, &mb) != nil {
		return "(not comparable)"
	}
	var fields []string
	for k := range mb {
		if !bytes.Equal(ma[k], mb[k]) {
			fields = append(fields, k)
		}
	}
	for k := range ma {
		if _, ok := mb[k]; !ok {
			fields = append(fields, k)
		}
	}
	sort.Strings(fields)
	if len(fields) == 0 {
		return "(formatting only)"
	}
	return "fields " + strings.Join(fields, ", ")
}

// readEvaluateGate fills g's champion comparison, the reason a champion was not compared and the gate's
// reasons from an evaluate metrics.json, and its threshold when the file records one: the threshold the step
// compared with, which a run's -p threshold=... sets, where the Pipeline's annotation holds only the spec's. A
// missing or foreign file leaves g as it is.
func readEvaluateGate(path string, g *Gate) {
	data, err := os.ReadFile(path)
	if err != nil {
		return
	}
	var m struct {
		Gate struct {
			Threshold       *float64  `json:"threshold"`
			Champion        *Champion `json:"champion"`
			ChampionSkipped string    `json:"championSkipped"`
			Reasons         []string  `json:"reasons"`
		} `json:"gate"`
	}
	if json.Unmarshal(data, &m) != nil {
		return
	}
	if m.Gate.Threshold != nil {
		g.Threshold = m.Gate.Threshold
	}
	g.Champion, g.ChampionSkipped, g.Reasons = m.Gate.Champion, m.Gate.ChampionSkipped, m.Gate.Reasons
}
