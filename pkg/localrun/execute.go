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
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/tektoncd/pipeline/pkg/apis/pipeline"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	trresources "github.com/tektoncd/pipeline/pkg/reconciler/taskrun/resources"
	"github.com/tektoncd/pipeline/pkg/result"
	"github.com/tektoncd/pipeline/pkg/termination"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/clock"

	"github.com/mlpipe/mlpipe/pkg/cache"
	"github.com/mlpipe/mlpipe/pkg/clusteraccess"
)

// MaxResultBytes is Tekton's limit on the termination message that carries a
// step's results (termination.MaxContainerTerminationMessageLength).
const MaxResultBytes = termination.MaxContainerTerminationMessageLength

// StepCommand is the command of the built-in steps; such a step runs as
// Options.SelfCommand + "step" + the rest of command and args.
const StepCommand = "mlpipe-step"

// job is one TaskRun to execute.
type job struct {
	pt    *v1.PipelineTask
	tr    *v1.TaskRun
	rt    *trresources.ResolvedTask
	final bool
	dir   string // the TaskRun's folder under tasks/ (see runner.trDir)
}

// outcome is what execute reports back.
type outcome struct {
	ok         bool
	reason     v1.TaskRunReason
	message    string
	cancel     error // set when the TaskRun was cancelled (pipeline timeout, ^C)
	results    []v1.TaskRunResult
	attempts   int
	retries    []v1.TaskRunStatus
	spec       *v1.TaskSpec
	cacheKey   string
	cachedFrom string
}

// taskDirs are the folders of one TaskRun inside the run folder.
type taskDirs struct {
	root, results, scripts, work, log string
}

func (r *runner) dirsFor(task string) taskDirs {
	root := filepath.Join(r.dir, "tasks", task)
	return taskDirs{
		root: root, results: filepath.Join(root, "results"), scripts: filepath.Join(root, "scripts"),
		work: filepath.Join(root, "work"), log: filepath.Join(root, "log.txt"),
	}
}

// execute runs a TaskRun: substitution as Tekton's TaskRun reconciler does it,
// the cache lookup, then the steps, retried up to spec.retries times.
func (r *runner) execute(ctx context.Context, j *job) outcome {
	d := r.dirsFor(j.dir)
	for _, dir := range []string{d.results, d.scripts, d.work} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return outcome{reason: v1.TaskRunReasonFailed, message: err.Error(), attempts: 1}
		}
	}
	if j.rt == nil || j.rt.TaskSpec == nil {
		return outcome{reason: v1.TaskRunReasonFailedResolution, message: "task could not be resolved", attempts: 1}
	}
	// Parameters and contexts: this form is also the cache key's "spec".
	ts := j.rt.TaskSpec.DeepCopy()
	ts = trresources.ApplyParameters(ts, j.tr, ts.Params...)
	ts = trresources.ApplyContexts(ts, j.rt.TaskName, j.tr)
	keySpec := ts.DeepCopy()

	wsDirs, err := r.bindWorkspaces(j, ts)
	if err != nil {
		return outcome{reason: v1.TaskRunReasonFailedValidation, message: err.Error(), attempts: 1, spec: ts}
	}
	ts = trresources.ApplyResults(ts)
	ts = trresources.ApplyStepExitCodePath(ts)
	ts = trresources.ApplyWorkspaces(r.ctx, ts, ts.Workspaces, j.tr.Spec.Workspaces, workspaceVolumes(ts))
	localizePaths(ts, d.results)

	var key *cacheKey
	if r.cache.enabled && r.taskCacheable(j) {
		key = r.cache.key(ctx, keyInputs{
			taskName: j.rt.TaskName, spec: j.rt.TaskSpec, tr: j.tr, wsDirs: wsDirs,
			programs: r.stepPrograms(keySpec.Steps), builtin: allBuiltin(keySpec.Steps), getenv: r.taskGetenv(keySpec, d),
		})
	}
	if key != nil && key.Unknown != "" {
		_ = r.cache.writeDisabled(d.root, key.Unknown)
		fmt.Fprintf(r.log, "not caching %s: %s\n", j.pt.Name, key.Unknown)
		key = nil
	} else if key != nil {
		if hit, _, err := r.cache.restore(ctx, key, wsDirs, d.results); err == nil && hit != nil {
			_ = r.cache.writeDecision(d.root, key, hit.Run)
			results := withCacheResults(r.typedResults(ts, hit.Results), ts, cache.Hit, key.Sum)
			return outcome{ok: true, results: results, spec: ts, cacheKey: key.Sum, cachedFrom: hit.Run}
		} else if err != nil {
			fmt.Fprintf(r.log, "cache restore for %s failed, running it: %v\n", j.pt.Name, err)
		}
		_ = r.cache.writeDecision(d.root, key, "")
	} else {
		_ = r.cache.writeDisabled(d.root, r.disabledReason(j))
	}
	before := snapshot(wsDirs)

	logf, err := os.OpenFile(d.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return outcome{reason: v1.TaskRunReasonFailed, message: err.Error(), attempts: 1, spec: ts}
	}
	defer logf.Close()

	var out outcome
	for attempt := 1; ; attempt++ {
		if attempt > 1 {
			r.emitAsync(j.pt.Name, attempt)
		}
		out = r.attempt(ctx, j, ts, d, logf, attempt)
		out.attempts, out.spec = attempt, ts
		if out.ok || out.cancel != nil || attempt > j.tr.Spec.Retries {
			break
		}
		fmt.Fprintf(logf, "=== attempt %d failed (%s: %s); retrying (%d of %d retries)\n", attempt, out.reason, out.message, attempt, j.tr.Spec.Retries)
		out.retries = append(out.retries, v1.TaskRunStatus{})
		out.retries[len(out.retries)-1].MarkResourceFailed(out.reason, errors.New(out.message))
	}
	retries := out.retries
	if out.ok && key != nil {
		out.cacheKey = key.Sum
		if err := r.cache.store(ctx, key, r.pipeline.Name, j.pt.Name, r.opts.RunID, wsDirs, before, out.results); err != nil {
			fmt.Fprintf(r.log, "cache store for %s failed: %v\n", j.pt.Name, err)
		}
		out.results = withCacheResults(out.results, ts, cache.Miss, key.Sum)
	}
	out.retries = retries
	return out
}

// withCacheResults sets the results cache and cache-key when the Task declares them (a Task generated for the
// cluster cache): the runner, not the step, caches a local run.
func withCacheResults(results []v1.TaskRunResult, ts *v1.TaskSpec, decision, key string) []v1.TaskRunResult {
	declared := map[string]bool{}
	for _, r := range ts.Results {
		declared[r.Name] = true
	}
	out := slices.DeleteFunc(results, func(r v1.TaskRunResult) bool { return r.Name == cache.ResultCache || r.Name == cache.ResultKey })
	for name, v := range map[string]string{cache.ResultCache: decision, cache.ResultKey: key} {
		if declared[name] {
			out = append(out, v1.TaskRunResult{Name: name, Type: v1.ResultsTypeString, Value: *v1.NewStructuredValues(v)})
		}
	}
	return out
}

// allBuiltin reports whether every step runs a built-in step program: such a task names its inputs in params,
// and its key has no workspace components (as in a Pod).
func allBuiltin(steps []v1.Step) bool {
	for _, s := range steps {
		if builtinStep(s) == "" {
			return false
		}
	}
	return len(steps) > 0
}

// emitAsync reports a retry; events are delivered from the scheduling
// goroutine only, so retries are reported through the log and the final event.
func (r *runner) emitAsync(task string, attempt int) {
	fmt.Fprintf(r.log, "task %s: attempt %d\n", task, attempt)
}

// taskCacheable reports whether a task may be cached: not a finally task and
// not opted out with the mlpipe.dev/cache: "false" annotation on its Task.
func (r *runner) taskCacheable(j *job) bool {
	if j.final || runParamOff(j) != "" {
		return false
	}
	if t, ok := r.tasks[j.rt.TaskName]; ok && t.Annotations[CacheAnnotation] == "false" {
		return false
	}
	return !r.appliesToCluster(j)
}

// runParamOff says why the run's cache params (cache=false, or the task in cache-skip, which a Pipeline
// generated for the cluster cache passes to its Tasks) turn the cache off for j; "" when they do not.
func runParamOff(j *job) string {
	var enabled, skip string
	for _, p := range j.tr.Spec.Params {
		switch p.Name {
		case cache.ParamEnabled:
			enabled = p.Value.StringVal
		case cache.ParamSkip:
			skip = p.Value.StringVal
		}
	}
	switch {
	case strings.EqualFold(strings.TrimSpace(enabled), "false"):
		return "the cache is off for this run (param " + cache.ParamEnabled + "=false)"
	case cache.Skipped(skip, j.pt.Name):
		return "task " + j.pt.Name + " is in the run's " + cache.ParamSkip + " list"
	}
	return ""
}

// appliesToCluster reports whether the task runs the built-in deploy step in a run that may contact the
// cluster (Options.DeployToCluster): a cache hit would skip the apply.
func (r *runner) appliesToCluster(j *job) bool {
	if !r.opts.DeployToCluster {
		return false
	}
	for _, s := range j.rt.TaskSpec.Steps {
		if builtinStep(s) == "deploy" {
			return true
		}
	}
	return false
}

// builtinStep is the verb of a step that runs a built-in step program (command mlpipe-step VERB), else "".
func builtinStep(s v1.Step) string {
	argv := append(append([]string{}, s.Command...), s.Args...)
	if s.Script == "" && len(argv) > 1 && filepath.Base(argv[0]) == StepCommand {
		return argv[1]
	}
	return ""
}

// clusterAccess is the MLPIPE_CLUSTER_ACCESS every step of the run gets.
func (r *runner) clusterAccess() clusteraccess.Access {
	if r.opts.DeployToCluster {
		return clusteraccess.Kubeconfig
	}
	return clusteraccess.None
}

func (r *runner) disabledReason(j *job) string {
	switch {
	case r.opts.NoCache:
		return "caching disabled for this run (--no-cache)"
	case r.pipeline.Annotations[CacheAnnotation] == "false":
		return "caching disabled by the Pipeline (annotation " + CacheAnnotation + ": \"false\", the spec's cache: false)"
	case j.final:
		return "finally tasks are never cached (they report on the run)"
	case runParamOff(j) != "":
		return runParamOff(j)
	case r.appliesToCluster(j):
		return "--deploy-to-cluster: a task that applies to the cluster is never cached"
	default:
		return "caching disabled by the Task (annotation " + CacheAnnotation + ": \"false\")"
	}
}

// bindWorkspaces points each declared workspace at its local directory by
// setting its mountPath, so ApplyWorkspaces substitutes the local path.
func (r *runner) bindWorkspaces(j *job, ts *v1.TaskSpec) (map[string]string, error) {
	dirs := map[string]string{}
	bound := map[string]v1.WorkspacePipelineTaskBinding{}
	for _, w := range j.pt.Workspaces {
		bound[w.Name] = w
	}
	for i, decl := range ts.Workspaces {
		b, ok := bound[decl.Name]
		if !ok {
			if decl.Optional {
				continue
			}
			return nil, fmt.Errorf("workspace %q of Task %s is not bound by pipeline task %s", decl.Name, j.rt.TaskName, j.pt.Name)
		}
		root, ok := r.wsDirs[b.Workspace]
		if !ok {
			return nil, fmt.Errorf("pipeline workspace %q is not declared", b.Workspace)
		}
		dir := filepath.Join(root, b.SubPath)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		dirs[decl.Name] = dir
		ts.Workspaces[i].MountPath = dir
	}
	return dirs, nil
}

func workspaceVolumes(ts *v1.TaskSpec) map[string]corev1.Volume {
	vols := map[string]corev1.Volume{}
	for _, w := range ts.Workspaces {
		vols[w.Name] = corev1.Volume{Name: "ws-" + w.Name, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}
	}
	return vols
}

// localizePaths rewrites Tekton's in-pod paths (/tekton/results, which
// ApplyResults substitutes for $(results.x.path)) to the TaskRun's local folders.
func localizePaths(ts *v1.TaskSpec, resultsDir string) {
	repl := strings.NewReplacer(pipeline.DefaultResultPath, resultsDir)
	for i := range ts.Steps {
		s := &ts.Steps[i]
		s.Script = repl.Replace(s.Script)
		s.WorkingDir = repl.Replace(s.WorkingDir)
		for k := range s.Command {
			s.Command[k] = repl.Replace(s.Command[k])
		}
		for k := range s.Args {
			s.Args[k] = repl.Replace(s.Args[k])
		}
		for k := range s.Env {
			s.Env[k].Value = repl.Replace(s.Env[k].Value)
		}
	}
}

// attempt runs the steps once.
func (r *runner) attempt(ctx context.Context, j *job, ts *v1.TaskSpec, d taskDirs, logf *os.File, attempt int) outcome {
	// A retry starts from an empty results folder, like a new Pod.
	_ = os.RemoveAll(d.results)
	_ = os.MkdirAll(d.results, 0o755)
	termDir := filepath.Join(d.root, "termination")
	_ = os.RemoveAll(termDir)
	_ = os.MkdirAll(termDir, 0o755)

	if t := j.tr.Spec.Timeout; t != nil && t.Duration > 0 {
		var cancel func()
		ctx, cancel = withClockTimeout(ctx, r.clk, t.Duration, errTaskTimeout)
		defer cancel()
	}
	steps, err := v1.MergeStepsWithStepTemplate(ts.StepTemplate, ts.Steps)
	if err != nil {
		return outcome{reason: v1.TaskRunReasonFailedValidation, message: err.Error()}
	}
	var declared []string
	for _, res := range ts.Results {
		declared = append(declared, res.Name)
	}
	for i, step := range steps {
		name := step.Name
		if name == "" {
			name = fmt.Sprintf("unnamed-%d", i)
		}
		fmt.Fprintf(logf, "=== attempt %d, step %s\n", attempt, name)
		code, err := r.runStep(ctx, step, i, d, logf)
		if c := context.Cause(ctx); c != nil && ctx.Err() != nil {
			if errors.Is(c, errTaskTimeout) {
				return outcome{reason: v1.TaskRunReasonTimedOut, message: fmt.Sprintf("TaskRun %q failed to finish within %q", j.tr.Name, j.tr.Spec.Timeout.Duration.String())}
			}
			if r.ctx.Err() != nil {
				// The run's own context ended (Ctrl-C, SIGTERM): its cause reaches this TaskRun's context first.
				c = errCancelled
			}
			return outcome{cancel: c}
		}
		if err != nil {
			return outcome{reason: v1.TaskRunReasonFailed, message: fmt.Sprintf("step %q: %v", name, err)}
		}
		// The entrypoint's readResultsFromDisk + termination.WriteMessage: the
		// results written so far must fit Tekton's 4096-byte termination message.
		if err := writeTermination(filepath.Join(termDir, name), d.results, declared); err != nil {
			var tooLong termination.MessageLengthError
			if errors.As(err, &tooLong) {
				return outcome{reason: v1.TaskRunReasonResultLargerThanAllowedLimit, message: fmt.Sprintf("step %q: %v", name, err)}
			}
			return outcome{reason: v1.TaskRunReasonFailed, message: fmt.Sprintf("step %q: %v", name, err)}
		}
		if code != 0 {
			if step.OnError == v1.Continue {
				fmt.Fprintf(logf, "=== step %s exited %d; onError: continue\n", name, code)
				continue
			}
			return outcome{reason: v1.TaskRunReasonFailed, message: fmt.Sprintf("%q exited with code %d", name, code)}
		}
	}
	results, err := readResults(ts, d.results)
	if err != nil {
		return outcome{reason: v1.TaskRunReasonFailed, message: err.Error()}
	}
	return outcome{ok: true, results: results}
}

var errTaskTimeout = errors.New("task timeout")

func writeTermination(path, resultsDir string, declared []string) error {
	var out []result.RunResult
	for _, name := range declared {
		b, err := os.ReadFile(filepath.Join(resultsDir, name))
		if os.IsNotExist(err) {
			continue
		} else if err != nil {
			return err
		}
		out = append(out, result.RunResult{Key: name, Value: string(b), ResultType: result.TaskRunResultType})
	}
	if len(out) == 0 {
		return nil
	}
	return termination.WriteMessage(path, out)
}

// readResults reads the declared results the steps wrote, typed by their declaration.
func readResults(ts *v1.TaskSpec, dir string) ([]v1.TaskRunResult, error) {
	var out []v1.TaskRunResult
	for _, decl := range ts.Results {
		b, err := os.ReadFile(filepath.Join(dir, decl.Name))
		if os.IsNotExist(err) {
			continue
		} else if err != nil {
			return nil, err
		}
		res, err := typedResult(decl, string(b))
		if err != nil {
			return nil, err
		}
		out = append(out, res)
	}
	return out, nil
}

func typedResult(decl v1.TaskResult, value string) (v1.TaskRunResult, error) {
	res := v1.TaskRunResult{Name: decl.Name, Type: v1.ResultsTypeString, Value: *v1.NewStructuredValues(value)}
	if decl.Type == v1.ResultsTypeArray || decl.Type == v1.ResultsTypeObject {
		var pv v1.ParamValue
		if err := json.Unmarshal([]byte(value), &pv); err != nil {
			return res, fmt.Errorf("result %q is declared %s but holds %q: %w", decl.Name, decl.Type, value, err)
		}
		res.Type, res.Value = decl.Type, pv
	}
	return res, nil
}

func (r *runner) typedResults(ts *v1.TaskSpec, values map[string]string) []v1.TaskRunResult {
	var out []v1.TaskRunResult
	for _, decl := range ts.Results {
		if v, ok := values[decl.Name]; ok {
			if res, err := typedResult(decl, v); err == nil {
				out = append(out, res)
			}
		}
	}
	return out
}

// runStep starts one step as a process in its own process group and waits
// for it; when ctx ends the whole group is killed. It returns the exit code.
func (r *runner) runStep(ctx context.Context, step v1.Step, idx int, d taskDirs, logf *os.File) (int, error) {
	argv, err := r.stepArgv(step, idx, d)
	if err != nil {
		return -1, err
	}
	env, err := r.stepEnv(step, d)
	if err != nil {
		return -1, err
	}
	dir := d.work
	if step.WorkingDir != "" {
		dir = step.WorkingDir
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return -1, fmt.Errorf("workingDir %s: %w", dir, err)
		}
	}
	if step.Timeout != nil && step.Timeout.Duration > 0 {
		var cancel func()
		ctx, cancel = withClockTimeout(ctx, r.clk, step.Timeout.Duration, errTaskTimeout)
		defer cancel()
	}
	return runProcessGroup(ctx, r.clk, argv, env, dir, logf)
}

// withClockTimeout is context.WithTimeoutCause on clk: the returned context is cancelled with cause once d
// has passed on clk (a fake clock in tests), or when cancel is called.
func withClockTimeout(ctx context.Context, clk clock.WithDelayedExecution, d time.Duration, cause error) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	t := clk.AfterFunc(d, func() { cancel(cause) })
	return ctx, func() {
		t.Stop()
		cancel(context.Canceled)
	}
}

// stepArgv resolves what a step executes: a script (its shebang, else sh -e),
// the built-in step programs, or command + args.
func (r *runner) stepArgv(step v1.Step, idx int, d taskDirs) ([]string, error) {
	if step.Script != "" {
		script := step.Script
		if !strings.HasPrefix(script, "#!") {
			script = "#!/bin/sh\nset -e\n" + script
		}
		if err := checkInterpreter(script); err != nil {
			return nil, err
		}
		path := filepath.Join(d.scripts, fmt.Sprintf("script-%d-%s", idx, step.Name))
		if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
			return nil, err
		}
		// Start the interpreter the shebang names, as the kernel would, rather
		// than exec'ing the file just written: a fork in another goroutine
		// between our write and close can still hold the file open for
		// writing, and exec of such a file fails with ETXTBSY (golang/go#22315).
		return append(shebangArgv(script, path), step.Args...), nil
	}
	cmd := append(append([]string{}, step.Command...), step.Args...)
	if len(step.Command) == 0 {
		return nil, fmt.Errorf("step %q has no command and no script: the entrypoint of image %q cannot be known without pulling it", step.Name, step.Image)
	}
	if filepath.Base(cmd[0]) == StepCommand {
		return append(append(append([]string{}, r.opts.SelfCommand...), "step"), cmd[1:]...), nil
	}
	if _, err := exec.LookPath(cmd[0]); err != nil {
		return nil, fmt.Errorf("command %q is not installed on this machine (image %s is not pulled by the local runner)", cmd[0], step.Image)
	}
	return cmd, nil
}

// shebangArgv is the argv the kernel builds for a script at path whose first
// line is "#!interpreter [optional-arg]": the rest of the line after the
// interpreter is one argument, not split on spaces.
func shebangArgv(script, path string) []string {
	line, _, _ := strings.Cut(script, "\n")
	line = strings.TrimRight(strings.TrimPrefix(line, "#!"), " \t\r")
	line = strings.TrimLeft(line, " \t")
	argv := []string{line}
	if i := strings.IndexAny(line, " \t"); i >= 0 {
		argv = []string{line[:i]}
		if arg := strings.TrimLeft(line[i:], " \t"); arg != "" {
			argv = append(argv, arg)
		}
	}
	return append(argv, path)
}

// taskGetenv looks variables up in the environment the task's first step runs with (the runner's baseline, the
// step template's and the step's env), so that s3:// inputs are fingerprinted with the endpoint and credentials
// the step itself will use.
func (r *runner) taskGetenv(ts *v1.TaskSpec, d taskDirs) func(string) string {
	var step v1.Step
	if len(ts.Steps) > 0 {
		step = ts.Steps[0]
	}
	if merged, err := v1.MergeStepsWithStepTemplate(ts.StepTemplate, []v1.Step{step}); err == nil {
		step = merged[0]
	}
	m := map[string]string{}
	if env, err := r.stepEnv(step, d); err == nil {
		for _, kv := range env {
			if k, v, ok := strings.Cut(kv, "="); ok {
				m[k] = v // later entries win, as in exec
			}
		}
	}
	return func(k string) string { return m[k] }
}

// stepPrograms maps each step to the identity of the host programs it runs, for the cache key: the built-in
// steps' build identity (cache.ProgramIdentity, which mlpipe-step in a Pod shares) when this binary runs them,
// else the fingerprints of the files it runs: the script's interpreter, every file named in SelfCommand, or
// the command. A program that cannot be found is left out: the step fails when it runs.
func (r *runner) stepPrograms(steps []v1.Step) map[string]string {
	out := map[string]string{}
	for i, step := range steps {
		name := step.Name
		if name == "" {
			name = fmt.Sprintf("step-%d", i)
		}
		var paths []string
		switch {
		case builtinStep(step) != "" && r.runsSelf():
			if id := cache.ProgramIdentity(); id != "" {
				out[name] = id
			}
			continue
		case step.Script != "":
			prog := "/bin/sh"
			if strings.HasPrefix(step.Script, "#!") {
				prog, _ = interpreterOf(step.Script)
			}
			paths = lookPath(prog)
		case len(step.Command) > 0 && filepath.Base(step.Command[0]) == StepCommand && len(r.opts.SelfCommand) > 0:
			for k, arg := range r.opts.SelfCommand {
				if k == 0 {
					paths = append(paths, lookPath(arg)...)
				} else if info, err := os.Stat(arg); err == nil && filepath.IsAbs(arg) && info.Mode().IsRegular() {
					paths = append(paths, arg) // e.g. the script of ["/bin/sh", "/path/step.sh"]
				}
			}
		case len(step.Command) > 0:
			paths = lookPath(step.Command[0])
		}
		var fps []string
		for _, p := range paths {
			fps = append(fps, r.cache.programFingerprint(p))
		}
		if len(fps) > 0 {
			out[name] = strings.Join(fps, "; ")
		}
	}
	return out
}

// runsSelf reports whether the built-in steps run as this very binary (SelfCommand is just its path).
func (r *runner) runsSelf() bool {
	if len(r.opts.SelfCommand) != 1 {
		return false
	}
	exe, err := os.Executable()
	if err != nil {
		return false
	}
	self, err1 := filepath.EvalSymlinks(exe)
	cmd, err2 := filepath.EvalSymlinks(r.opts.SelfCommand[0])
	return err1 == nil && err2 == nil && self == cmd
}

func lookPath(prog string) []string {
	if prog == "" {
		return nil
	}
	if path, err := exec.LookPath(prog); err == nil {
		return []string{path}
	}
	return nil
}

// checkInterpreter fails with a message naming the interpreter when a
// script's shebang points at a program that is not installed.
func checkInterpreter(script string) error {
	line, _, _ := strings.Cut(script, "\n")
	interp, viaEnv := interpreterOf(script)
	if interp == "" {
		return fmt.Errorf("script has an empty shebang line")
	}
	if viaEnv {
		if _, err := exec.LookPath(interp); err != nil {
			return fmt.Errorf("interpreter %q is not installed on this machine (script starts with %q)", interp, line)
		}
		return nil
	}
	if _, err := os.Stat(interp); err != nil {
		return fmt.Errorf("interpreter %q is not installed on this machine (script starts with %q)", interp, line)
	}
	return nil
}

// interpreterOf names the program a script's shebang runs: the interpreter's path, or, for
// "#!/usr/bin/env [-S] NAME ...", NAME to be looked up in PATH (viaEnv). "" for an empty shebang.
func interpreterOf(script string) (interp string, viaEnv bool) {
	line, _, _ := strings.Cut(script, "\n")
	fields := strings.Fields(strings.TrimPrefix(line, "#!"))
	if len(fields) == 0 {
		return "", false
	}
	if filepath.Base(fields[0]) == "env" && len(fields) > 1 {
		if fields[1] == "-S" && len(fields) > 2 {
			return fields[2], true
		}
		return fields[1], true
	}
	return fields[0], false
}

// runProcessGroup runs argv with Setpgid; when ctx ends it sends SIGTERM and,
// after a second on clk, SIGKILL to the whole group, and it always reaps leftover
// children of the group once the leader exits (a container's processes end
// with it).
func runProcessGroup(ctx context.Context, clk clock.Clock, argv, env []string, dir string, out *os.File) (int, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env, cmd.Dir, cmd.Stdout, cmd.Stderr = env, dir, out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return -1, err
	}
	pgid := cmd.Process.Pid
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	var err error
	select {
	case err = <-waited:
	case <-ctx.Done():
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		grace := clk.NewTimer(time.Second)
		select {
		case err = <-waited:
		case <-grace.C():
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			err = <-waited
		}
		grace.Stop()
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	if err == nil {
		return 0, nil
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		if ctx.Err() != nil {
			return -1, nil
		}
		return exit.ExitCode(), nil
	}
	return -1, err
}
