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
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/tektoncd/pipeline/pkg/apis/config"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	"github.com/tektoncd/pipeline/pkg/reconciler/pipeline/dag"
	"github.com/tektoncd/pipeline/pkg/reconciler/pipelinerun/resources"
	"github.com/tektoncd/pipeline/pkg/reconciler/taskrun"
	"github.com/tektoncd/pipeline/pkg/trustedresources"
	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	"knative.dev/pkg/apis"

	"github.com/mlpipe/mlpipe/pkg/cache"
)

// ErrInvalid marks errors found before any task ran (a bad graph, a missing
// result reference, a missing or unknown param); nothing was executed or recorded.
var ErrInvalid = errors.New("pipeline cannot run")

// runner holds the state of one local PipelineRun.
type runner struct {
	ctx    context.Context
	opts   Options
	clk    clock.WithDelayedExecution
	logger *zap.SugaredLogger
	log    io.Writer

	pipeline *v1.Pipeline
	tasks    map[string]*v1.Task
	spec     *v1.PipelineSpec // after ApplyParameters, ApplyContexts, ApplyWorkspaces
	pr       *v1.PipelineRun
	dag      *dag.Graph
	final    *dag.Graph

	dir      string            // run folder
	wsDirs   map[string]string // pipeline workspace -> directory
	taskRuns map[string]*v1.TaskRun
	// validationFailed remembers tasks that failed CheckMissingResultReferences, by name.
	validationFailed map[string]string
	results          map[string]*TaskResult
	order            []string
	finallyStart     *time.Time

	cache   *localCache
	running map[string]context.CancelCauseFunc // TaskRun name -> cancel
	// trDir is each TaskRun's folder under tasks/: the pipeline task's name, or
	// <name>/matrix-<i> for the i-th TaskRun of a matrixed task.
	trDir map[string]string
	// outcomes are the finished TaskRuns' outcomes, until their pipeline task is done.
	outcomes map[string]outcome
	done     chan finished
	sem      chan struct{}
}

// finished carries a TaskRun's outcome back to the scheduling goroutine.
type finished struct {
	trName string
	out    outcome
}

// Run executes pipeline with the given Tasks (referenced by taskRef.name) on
// this machine and records the run under Options.Root. It returns an error
// wrapping ErrInvalid when the objects cannot run at all (nothing is executed
// then); a run whose tasks fail returns a Result with Status "Failed" and a nil error.
func Run(ctx context.Context, p *v1.Pipeline, tasks []*v1.Task, opts Options) (*Result, error) {
	r, err := newRunner(ctx, p, tasks, opts)
	if err != nil {
		return nil, err
	}
	return r.run()
}

func newRunner(ctx context.Context, p *v1.Pipeline, tasks []*v1.Task, opts Options) (*runner, error) {
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	if opts.Parallel <= 0 {
		opts.Parallel = 4
	}
	if opts.Root == "" {
		opts.Root = ".mlpipe"
	}
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	if len(opts.SelfCommand) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("error locating the mlpipe binary for step processes: %w", err)
		}
		opts.SelfCommand = []string{exe}
	}
	r := &runner{
		ctx:              ctx,
		opts:             opts,
		clk:              opts.Clock,
		logger:           zap.NewNop().Sugar(),
		log:              opts.Log,
		tasks:            map[string]*v1.Task{},
		taskRuns:         map[string]*v1.TaskRun{},
		validationFailed: map[string]string{},
		results:          map[string]*TaskResult{},
		wsDirs:           map[string]string{},
		running:          map[string]context.CancelCauseFunc{},
		trDir:            map[string]string{},
		outcomes:         map[string]outcome{},
		done:             make(chan finished),
		sem:              make(chan struct{}, opts.Parallel),
	}
	if r.log == nil {
		r.log = io.Discard
	}
	if p == nil {
		return nil, fmt.Errorf("%w: no Pipeline given", ErrInvalid)
	}
	r.pipeline = p.DeepCopy()
	r.pipeline.SetDefaults(ctx)
	if err := r.pipeline.Validate(ctx); err != nil {
		return nil, fmt.Errorf("%w: Pipeline %s is invalid: %v", ErrInvalid, p.Name, err)
	}
	for _, t := range tasks {
		t = t.DeepCopy()
		t.SetDefaults(ctx)
		if err := t.Validate(ctx); err != nil {
			return nil, fmt.Errorf("%w: Task %s is invalid: %v", ErrInvalid, t.Name, err)
		}
		r.tasks[t.Name] = t
	}
	if err := r.prepare(); err != nil {
		return nil, err
	}
	return r, nil
}

// newRunID returns a sortable, unique run id.
func newRunID(now time.Time) string {
	b := make([]byte, 2)
	_, _ = rand.Read(b)
	return now.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b)
}

// prepare mirrors the start of Tekton's PipelineRun reconcile: graph, params,
// workspaces, substitution, and the checks done before the first TaskRun.
func (r *runner) prepare() error {
	ctx := r.ctx
	p := r.pipeline
	spec := p.Spec.DeepCopy()
	start := r.clk.Now()
	if r.opts.RunID == "" {
		r.opts.RunID = newRunID(start)
	}
	prName := p.Name + "-" + strings.ReplaceAll(r.opts.RunID, "_", "-")
	if len(prName) > 63 {
		prName = strings.TrimRight(prName[:63], "-")
	}
	r.pr = &v1.PipelineRun{
		TypeMeta: metav1.TypeMeta{APIVersion: "tekton.dev/v1", Kind: "PipelineRun"},
		ObjectMeta: metav1.ObjectMeta{
			Name: prName, Namespace: r.opts.Namespace, UID: types.UID(uuid.NewString()),
			Labels: map[string]string{pipeline.PipelineLabelKey: p.Name},
		},
		Spec: v1.PipelineRunSpec{
			PipelineRef: &v1.PipelineRef{Name: p.Name},
			Timeouts:    r.opts.Timeouts,
		},
		Status: v1.PipelineRunStatus{PipelineRunStatusFields: v1.PipelineRunStatusFields{StartTime: &metav1.Time{Time: start}}},
	}
	declared := map[string]v1.ParamType{}
	for _, ps := range spec.Params {
		declared[ps.Name] = ps.Type
		if ps.Type == "" {
			declared[ps.Name] = v1.ParamTypeString
		}
	}
	var unknown []string
	for _, name := range sortedKeys(r.opts.Params) {
		typ, ok := declared[name]
		if !ok {
			unknown = append(unknown, name)
			continue
		}
		value, err := paramValue(typ, r.opts.Params[name])
		if err != nil {
			return fmt.Errorf("%w: param %s: %v", ErrInvalid, name, err)
		}
		r.pr.Spec.Params = append(r.pr.Spec.Params, v1.Param{Name: name, Value: value})
	}
	if len(unknown) > 0 {
		var names []string
		for _, ps := range spec.Params {
			names = append(names, ps.Name)
		}
		return fmt.Errorf("%w: unknown param(s) %s; Pipeline %s declares: %s", ErrInvalid,
			strings.Join(unknown, ", "), p.Name, strings.Join(names, ", "))
	}
	r.dir = filepath.Join(r.opts.Root, "runs", p.Name, r.opts.RunID)
	if abs, err := filepath.Abs(r.dir); err == nil {
		r.dir = abs
	}
	for _, ws := range spec.Workspaces {
		r.pr.Spec.Workspaces = append(r.pr.Spec.Workspaces, v1.WorkspaceBinding{Name: ws.Name, EmptyDir: &corev1.EmptyDirVolumeSource{}})
		r.wsDirs[ws.Name] = filepath.Join(r.dir, "workspaces", ws.Name)
	}

	var err error
	if r.dag, err = dag.Build(v1.PipelineTaskList(spec.Tasks), v1.PipelineTaskList(spec.Tasks).Deps()); err != nil {
		return fmt.Errorf("%w: Pipeline %s's DAG is invalid: %v", ErrInvalid, p.Name, err)
	}
	if r.final, err = dag.Build(v1.PipelineTaskList(spec.Finally), map[string][]string{}); err != nil {
		return fmt.Errorf("%w: Pipeline %s's DAG is invalid for finally clause: %v", ErrInvalid, p.Name, err)
	}
	if err := resources.ValidateRequiredParametersProvided(&spec.Params, &r.pr.Spec.Params); err != nil {
		return fmt.Errorf("%w: %v (pass it with -p name=value)", ErrInvalid, err)
	}
	if err := resources.ValidateParamTypesMatching(spec, r.pr); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if err := resources.ValidateWorkspaceBindings(spec, r.pr); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	resources.ApplyParametersToWorkspaceBindings(r.pr)
	if spec, err = resources.ApplyParameters(spec, r.pr); err != nil {
		return fmt.Errorf("%w: failed to apply parameters to Pipeline %s: %v", ErrInvalid, p.Name, err)
	}
	spec = resources.ApplyContexts(spec, p.Name, r.pr)
	spec = resources.ApplyWorkspaces(spec, r.pr)
	r.spec = spec
	r.pr.Status.PipelineSpec = spec
	for _, pt := range spec.Tasks {
		r.order = append(r.order, pt.Name)
		r.results[pt.Name] = &TaskResult{Name: pt.Name, Status: StatusPending}
	}
	for _, pt := range spec.Finally {
		r.order = append(r.order, pt.Name)
		r.results[pt.Name] = &TaskResult{Name: pt.Name, Final: true, Status: StatusPending}
	}

	// The checks Tekton does before the first TaskRun is created.
	facts, err := r.facts()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	for _, rpt := range facts.State {
		if rpt.IsCustomTask() || rpt.IsChildPipeline() {
			return fmt.Errorf("%w: pipeline task %s: custom tasks and pipelines in pipelines do not run locally", ErrInvalid, rpt.PipelineTask.Name)
		}
		if err := taskrun.ValidateResolvedTask(ctx, rpt.PipelineTask.Params, rpt.PipelineTask.Matrix, rpt.ResolvedTask); err != nil {
			return fmt.Errorf("%w: pipeline task %s: %v", ErrInvalid, rpt.PipelineTask.Name, err)
		}
		if ts := rpt.ResolvedTask.TaskSpec; ts != nil {
			if len(ts.Sidecars) > 0 {
				return fmt.Errorf("%w: pipeline task %s: Task %s has sidecars (%s), which do not run locally: start that service on this machine and drop the sidecar, or run in a cluster",
					ErrInvalid, rpt.PipelineTask.Name, rpt.ResolvedTask.TaskName, ts.Sidecars[0].Name)
			}
			for _, st := range ts.Steps {
				if st.Ref != nil {
					return fmt.Errorf("%w: pipeline task %s: step %q uses the StepAction %q, which is not resolved locally",
						ErrInvalid, rpt.PipelineTask.Name, st.Name, st.Ref.Name)
				}
			}
		}
		if err := rpt.EvaluateCEL(); err != nil {
			return fmt.Errorf("%w: error evaluating CEL of pipeline task %s: %v", ErrInvalid, rpt.PipelineTask.Name, err)
		}
	}
	if err := resources.ValidatePipelineTaskResults(facts.State); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if err := resources.ValidatePipelineResults(spec, facts.State); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if err := resources.ValidateOptionalWorkspaces(spec.Workspaces, facts.State); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return nil
}

// facts rebuilds the PipelineRunState the way Tekton's reconciler does on
// every reconcile: tasks with TaskRuns first, then the others, each resolved
// with ResolvePipelineTask (which applies the results known so far).
func (r *runner) facts() (*resources.PipelineRunFacts, error) {
	all := append(append([]v1.PipelineTask{}, r.spec.Tasks...), r.spec.Finally...)
	started := map[string]bool{}
	for _, c := range r.pr.Status.ChildReferences {
		started[c.PipelineTaskName] = true
	}
	var ran, notStarted []v1.PipelineTask
	for _, pt := range all {
		if started[pt.Name] {
			ran = append(ran, pt)
		} else {
			notStarted = append(notStarted, pt)
		}
	}
	getTask := func(_ context.Context, name string) (*v1.Task, *v1.RefSource, *trustedresources.VerificationResult, error) {
		t, ok := r.tasks[name]
		if !ok {
			return nil, nil, nil, fmt.Errorf("task %q is not among the loaded Tasks", name)
		}
		return t.DeepCopy(), nil, nil, nil
	}
	getTaskRun := func(name string) (*v1.TaskRun, error) {
		if tr, ok := r.taskRuns[name]; ok {
			return tr, nil
		}
		return nil, apierrors.NewNotFound(schema.GroupResource{Group: "tekton.dev", Resource: "taskruns"}, name)
	}
	getRun := func(name string) (*v1beta1.CustomRun, error) {
		return nil, apierrors.NewNotFound(schema.GroupResource{Group: "tekton.dev", Resource: "customruns"}, name)
	}
	getChildPR := func(name string) (*v1.PipelineRun, error) {
		return nil, apierrors.NewNotFound(schema.GroupResource{Group: "tekton.dev", Resource: "pipelineruns"}, name)
	}
	getChildPipeline := func(_ context.Context, name string) (*v1.Pipeline, *v1.RefSource, *trustedresources.VerificationResult, error) {
		return nil, nil, nil, fmt.Errorf("pipeline %q cannot be resolved locally", name)
	}
	state := resources.PipelineRunState{}
	for _, group := range [][]v1.PipelineTask{ran, notStarted} {
		for _, pt := range group {
			rpt, err := resources.ResolvePipelineTask(r.ctx, *r.pr, getChildPR, getChildPipeline, getTask, getTaskRun, getRun, pt, state)
			if err != nil {
				return nil, fmt.Errorf("pipeline task %s: %w", pt.Name, err)
			}
			state = append(state, rpt)
		}
	}
	facts := &resources.PipelineRunFacts{
		State:           state,
		SpecStatus:      r.pr.Spec.Status,
		TasksGraph:      r.dag,
		FinalTasksGraph: r.final,
		TimeoutsState:   resources.PipelineRunTimeoutsState{Clock: r.clk, StartTime: &r.pr.Status.StartTime.Time, FinallyStartTime: r.finallyStart},
	}
	if d := r.pr.TasksTimeout(); d != nil {
		facts.TimeoutsState.TasksTimeout = &d.Duration
	}
	if d := r.pr.FinallyTimeout(); d != nil {
		facts.TimeoutsState.FinallyTimeout = &d.Duration
	}
	if d := r.pr.PipelineTimeout(r.ctx); d != 0 {
		facts.TimeoutsState.PipelineTimeout = &d
	}
	for _, rpt := range state {
		if msg, ok := r.validationFailed[rpt.PipelineTask.Name]; ok {
			facts.ValidationFailedTask = append(facts.ValidationFailedTask, rpt)
			if facts.ValidationFailedErrors == nil {
				facts.ValidationFailedErrors = map[string]string{}
			}
			facts.ValidationFailedErrors[rpt.PipelineTask.Name] = msg
		}
	}
	return facts, nil
}

// schedule is runNextSchedulableTask of Tekton's PipelineRun reconciler, with
// "create a TaskRun" replaced by starting local processes.
func (r *runner) schedule(facts *resources.PipelineRunFacts) error {
	next, err := facts.DAGExecutionQueue()
	if err != nil {
		return err
	}
	for _, rpt := range next {
		if err := resources.CheckMissingResultReferences(facts.State, rpt); err != nil {
			next = nil
			facts.ValidationFailedTask = append(facts.ValidationFailedTask, rpt)
			if facts.ValidationFailedErrors == nil {
				facts.ValidationFailedErrors = map[string]string{}
			}
			facts.ValidationFailedErrors[rpt.PipelineTask.Name] = err.Error()
			r.validationFailed[rpt.PipelineTask.Name] = err.Error()
			fmt.Fprintf(r.log, "task %s failed result validation: %v\n", rpt.PipelineTask.Name, err)
		}
	}
	if fNext := facts.GetFinalTasks(); len(fNext) != 0 {
		resources.ApplyPipelineTaskStateContext(fNext, facts.GetPipelineTaskStatus())
		for _, rpt := range fNext {
			refs, _, err := resources.ResolveResultRef(facts.State, rpt)
			if err != nil {
				fmt.Fprintf(r.log, "final task %s is not executed as it could not resolve task params: %v\n", rpt.PipelineTask.Name, err)
				continue
			}
			resources.ApplyTaskResults(resources.PipelineRunState{rpt}, refs)
			if err := rpt.EvaluateCEL(); err != nil {
				return fmt.Errorf("error evaluating CEL of final task %s: %w", rpt.PipelineTask.Name, err)
			}
			next = append(next, rpt)
		}
	}
	if r.finallyStart == nil && facts.IsFinalTaskStarted() {
		r.setFinallyStart(facts)
	}
	for _, rpt := range next {
		if rpt.IsFinalTask(facts) {
			r.setFinallyStart(facts)
		}
		if rpt.Skip(facts).IsSkipped || rpt.IsFinallySkipped(facts).IsSkipped {
			continue
		}
		resources.PropagateResults(rpt, facts.State)
		if rpt.PipelineTask.IsMatrixed() {
			if err := resources.ValidateParameterTypesInMatrix(facts.State); err != nil {
				return &reasonError{reason: v1.PipelineRunReasonInvalidMatrixParameterTypes.String(), err: fmt.Errorf("failed to validate matrix of pipeline task %s: %w", rpt.PipelineTask.Name, err)}
			}
		}
		r.start(rpt, facts)
	}
	return nil
}

func (r *runner) setFinallyStart(facts *resources.PipelineRunFacts) {
	if r.finallyStart == nil {
		now := r.clk.Now()
		r.finallyStart = &now
		r.pr.Status.FinallyStartTime = &metav1.Time{Time: now}
	}
	facts.TimeoutsState.FinallyStartTime = r.finallyStart
}

// start creates the TaskRun objects for rpt — one, or one per matrix
// combination as Tekton's createTaskRuns does — and launches their execution.
func (r *runner) start(rpt *resources.ResolvedPipelineTask, facts *resources.PipelineRunFacts) {
	pt := resources.ApplyPipelineTaskContexts(rpt.PipelineTask, r.pr.Status, facts)
	names := rpt.TaskRunNames
	if len(names) == 0 {
		names = []string{resources.GetTaskRunName(r.pr.Status.ChildReferences, pt.Name, r.pr.Name)}
	}
	var combinations []v1.Params
	if pt.IsMatrixed() {
		combinations = pt.Matrix.FanOut()
	}
	now := r.clk.Now()
	res := r.results[pt.Name]
	res.Status, res.Started = StatusRunning, now
	r.emit(pt.Name, StatusRunning, 1, "")
	for i, trName := range names {
		var params v1.Params
		if i < len(combinations) {
			params = combinations[i]
		}
		params = append(params, pt.Params...)
		tr := &v1.TaskRun{
			TypeMeta: metav1.TypeMeta{APIVersion: "tekton.dev/v1", Kind: "TaskRun"},
			ObjectMeta: metav1.ObjectMeta{
				Name: trName, Namespace: r.pr.Namespace, UID: types.UID(uuid.NewString()),
				Labels: map[string]string{
					pipeline.PipelineLabelKey:     r.pipeline.Name,
					pipeline.PipelineRunLabelKey:  r.pr.Name,
					pipeline.PipelineTaskLabelKey: pt.Name,
				},
			},
			Spec: v1.TaskRunSpec{
				Params:  params,
				TaskRef: pt.TaskRef,
				Retries: pt.Retries,
				Timeout: r.taskTimeout(pt),
			},
		}
		if pt.TaskRef != nil {
			tr.Labels[pipeline.TaskLabelKey] = pt.TaskRef.Name
		}
		for _, w := range pt.Workspaces {
			tr.Spec.Workspaces = append(tr.Spec.Workspaces, v1.WorkspaceBinding{Name: w.Name, SubPath: w.SubPath, EmptyDir: &corev1.EmptyDirVolumeSource{}})
		}
		tr.Status.InitializeConditions()
		tr.Status.StartTime = &metav1.Time{Time: now}
		r.taskRuns[trName] = tr
		r.pr.Status.ChildReferences = append(r.pr.Status.ChildReferences, v1.ChildStatusReference{
			TypeMeta:         runtimeTypeMeta("TaskRun"),
			Name:             trName,
			PipelineTaskName: pt.Name,
		})
		r.trDir[trName] = pt.Name
		if pt.IsMatrixed() {
			r.trDir[trName] = fmt.Sprintf("%s/matrix-%d", pt.Name, i)
		}

		job := &job{pt: pt, tr: tr, rt: rpt.ResolvedTask, final: rpt.IsFinalTask(facts), dir: r.trDir[trName]}
		ctx, cancel := context.WithCancelCause(r.ctx)
		r.running[trName] = cancel
		go func() {
			r.sem <- struct{}{}
			out := r.execute(ctx, job)
			<-r.sem
			cancel(nil)
			r.done <- finished{trName: trName, out: out}
		}()
	}
}

// reasonError is a scheduling error with the PipelineRun reason Tekton gives it.
type reasonError struct {
	reason string
	err    error
}

func (e *reasonError) Error() string { return e.err.Error() }
func (e *reasonError) Unwrap() error { return e.err }

func runtimeTypeMeta(kind string) runtime.TypeMeta {
	return runtime.TypeMeta{APIVersion: "tekton.dev/v1", Kind: kind}
}

// taskTimeout is the TaskRun timeout Tekton would set: the pipeline task's
// timeout, else the configured default.
func (r *runner) taskTimeout(pt *v1.PipelineTask) *metav1.Duration {
	if pt.Timeout != nil {
		return pt.Timeout
	}
	return &metav1.Duration{Duration: time.Duration(config.FromContextOrDefaults(r.ctx).Defaults.DefaultTimeoutMinutes) * time.Minute}
}

func (r *runner) emit(task string, s TaskStatus, attempt int, reason string) {
	if r.opts.Events != nil {
		r.opts.Events(Event{Task: task, Final: r.results[task].Final, Status: s, Attempt: attempt, Reason: reason, Time: r.clk.Now(), Dir: r.dir})
	}
}

// errPipelineTimeout and friends are the cancellation causes of running TaskRuns.
var (
	errPipelineTimeout = errors.New(string(v1.TaskRunCancelledByPipelineTimeoutMsg))
	errCancelled       = errors.New("TaskRun cancelled as the PipelineRun it belongs to has been cancelled")
)

// run is the reconcile loop.
func (r *runner) run() (*Result, error) {
	for _, d := range r.wsDirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("error creating workspace directory: %w", err)
		}
	}
	c, err := newCache(r.ctx, r.opts.Root, r.opts.CacheStore, r.dir, r.cachingEnabled(), r.clk)
	if err != nil {
		return nil, err
	}
	r.cache = c
	if err := r.recordObjects(); err != nil {
		return nil, err
	}
	for _, name := range r.order {
		r.emit(name, StatusPending, 0, "")
	}
	var cond *apis.Condition
	cancelled := false
	for {
		r.enforceTimeouts()
		facts, err := r.facts()
		if err != nil {
			r.cancelAll(errCancelled)
			r.drain()
			return nil, err
		}
		if !cancelled {
			err := r.evaluateCEL(facts)
			if err == nil {
				err = r.schedule(facts)
			}
			if err != nil {
				r.cancelAll(errCancelled)
				r.drain()
				reason := v1.PipelineRunReasonCELEvaluationFailed.String()
				var re *reasonError
				if errors.As(err, &re) {
					reason = re.reason
				}
				cond = &apis.Condition{Type: apis.ConditionSucceeded, Status: corev1.ConditionFalse, Reason: reason, Message: err.Error()}
				break
			}
		}
		facts.ResetSkippedCache()
		cond = facts.GetPipelineConditionStatus(r.ctx, r.pr, r.logger, r.clk)
		if cancelled {
			cond = &apis.Condition{Type: apis.ConditionSucceeded, Status: corev1.ConditionFalse, Reason: v1.PipelineRunReasonCancelled.String(), Message: fmt.Sprintf("PipelineRun %q was cancelled", r.pr.Name)}
		}
		if cond.Status != corev1.ConditionUnknown {
			if len(r.running) == 0 {
				r.markSkipped(facts)
				break
			}
			r.cancelAll(errPipelineTimeout)
		} else if len(r.running) == 0 {
			// Nothing running and nothing schedulable: Tekton would wait forever.
			cond = &apis.Condition{Type: apis.ConditionSucceeded, Status: corev1.ConditionFalse, Reason: v1.PipelineRunReasonFailed.String(), Message: "no task can be scheduled: " + cond.Message}
			r.markSkipped(facts)
			break
		}
		deadline := r.nextDeadline()
		select {
		case f := <-r.done:
			r.finish(f)
		case <-deadline.C():
		case <-r.ctx.Done():
			if !cancelled {
				cancelled = true
				r.pr.Spec.Status = v1.PipelineRunSpecStatusCancelled
				r.cancelAll(errCancelled)
			}
			f := <-r.done
			r.finish(f)
		}
		deadline.Stop()
	}
	return r.complete(cond)
}

// evaluateCEL evaluates the CEL when expressions of every task after the
// substitutions, as each Tekton reconcile does.
func (r *runner) evaluateCEL(facts *resources.PipelineRunFacts) error {
	for _, rpt := range facts.State {
		if err := rpt.EvaluateCEL(); err != nil {
			return fmt.Errorf("error evaluating CEL of pipeline task %s: %w", rpt.PipelineTask.Name, err)
		}
	}
	return nil
}

// drain waits for every running TaskRun to report back.
func (r *runner) drain() {
	for len(r.running) > 0 {
		r.finish(<-r.done)
	}
}

func (r *runner) cancelAll(cause error) {
	for _, cancel := range r.running {
		cancel(cause)
	}
}

// enforceTimeouts cancels running TaskRuns once the PipelineRun's pipeline,
// tasks or finally timeout elapsed, as Tekton's timeoutPipelineTasks does.
func (r *runner) enforceTimeouts() {
	ctx := r.ctx
	pipelineTimedOut := r.pr.HasTimedOut(ctx, r.clk)
	tasksTimedOut := r.finallyStart == nil && r.pr.HaveTasksTimedOut(ctx, r.clk)
	finallyTimedOut := r.finallyStart != nil && r.pr.HasFinallyTimedOut(ctx, r.clk)
	if !pipelineTimedOut && !tasksTimedOut && !finallyTimedOut {
		return
	}
	for name, cancel := range r.running {
		final := r.results[r.taskRuns[name].Labels[pipeline.PipelineTaskLabelKey]].Final
		if pipelineTimedOut || (tasksTimedOut && !final) || (finallyTimedOut && final) {
			cancel(errPipelineTimeout)
		}
	}
}

// nextDeadline is a timer on r.clk that fires when the next PipelineRun-level timeout elapses; with no
// deadline ahead its channel is nil (it never fires). The caller stops it.
func (r *runner) nextDeadline() deadlineTimer {
	start := r.pr.Status.StartTime.Time
	var deadlines []time.Time
	if d := r.pr.PipelineTimeout(r.ctx); d != 0 {
		deadlines = append(deadlines, start.Add(d))
	}
	if d := r.pr.TasksTimeout(); d != nil && d.Duration != 0 && r.finallyStart == nil {
		deadlines = append(deadlines, start.Add(d.Duration))
	}
	if d := r.pr.FinallyTimeout(); d != nil && d.Duration != 0 && r.finallyStart != nil {
		deadlines = append(deadlines, r.finallyStart.Add(d.Duration))
	}
	now := r.clk.Now()
	var soonest time.Duration = -1
	for _, d := range deadlines {
		if left := d.Sub(now); left > 0 && (soonest < 0 || left < soonest) {
			soonest = left
		}
	}
	if soonest < 0 {
		return deadlineTimer{}
	}
	return deadlineTimer{r.clk.NewTimer(soonest + 10*time.Millisecond)}
}

// deadlineTimer is a clock.Timer that may be absent (never fires).
type deadlineTimer struct{ t clock.Timer }

// C is the timer's channel, nil without a timer.
func (d deadlineTimer) C() <-chan time.Time {
	if d.t == nil {
		return nil
	}
	return d.t.C()
}

// Stop releases the timer.
func (d deadlineTimer) Stop() {
	if d.t != nil {
		d.t.Stop()
	}
}

// finish records a TaskRun's outcome in its TaskRun status, like the TaskRun
// reconciler would.
func (r *runner) finish(f finished) {
	delete(r.running, f.trName)
	tr := r.taskRuns[f.trName]
	out := f.out
	ptName := tr.Labels[pipeline.PipelineTaskLabelKey]
	now := r.clk.Now()
	tr.Status.CompletionTime = &metav1.Time{Time: now}
	tr.Status.Results = out.results
	tr.Status.TaskSpec = out.spec
	tr.Status.RetriesStatus = out.retries
	switch {
	case out.ok:
		tr.Status.SetCondition(&apis.Condition{Type: apis.ConditionSucceeded, Status: corev1.ConditionTrue, Reason: v1.TaskRunReasonSuccessful.String(), Message: "All Steps have completed executing"})
	case out.cancel != nil:
		tr.Spec.Status = v1.TaskRunSpecStatusCancelled
		if errors.Is(out.cancel, errPipelineTimeout) {
			tr.Spec.StatusMessage = v1.TaskRunCancelledByPipelineTimeoutMsg
		}
		tr.Status.MarkResourceFailed(v1.TaskRunReasonCancelled, errors.New(out.cancel.Error()))
	default:
		tr.Status.MarkResourceFailed(out.reason, errors.New(out.message))
	}
	_ = r.recordTaskRun(r.trDir[f.trName], tr)
	r.outcomes[f.trName] = out

	// The pipeline task is done when all its TaskRuns are (several for a matrix).
	var names []string
	for _, c := range r.pr.Status.ChildReferences {
		if c.PipelineTaskName != ptName {
			continue
		}
		if _, open := r.running[c.Name]; open {
			return
		}
		names = append(names, c.Name)
	}
	res := r.results[ptName]
	res.Finished, res.Status, res.Reason, res.Message, res.Attempts = now, StatusSucceeded, v1.TaskRunReasonSuccessful.String(), "", 0
	cached := 0
	var failed, cancelled *outcome
	res.Log = filepath.Join("tasks", r.trDir[names[0]], "log.txt")
	for i, name := range names {
		o := r.outcomes[name]
		delete(r.outcomes, name)
		res.Attempts = max(res.Attempts, o.attempts)
		if i == 0 {
			res.CacheKey = o.cacheKey
		}
		switch {
		case o.ok && o.cachedFrom != "":
			cached++
			res.CachedFrom = o.cachedFrom
		case o.ok:
		case o.cancel != nil:
			if cancelled == nil {
				cancelled = &o
			}
		default:
			if failed == nil {
				failed = &o
				res.Log = filepath.Join("tasks", r.trDir[name], "log.txt")
				if len(names) > 1 {
					failed.message = fmt.Sprintf("TaskRun %d of %d (%s): %s", i+1, len(names), name, o.message)
				}
			}
		}
	}
	res.Results = r.pipelineTaskResults(names)
	switch {
	case failed != nil:
		res.Status, res.Reason, res.Message = StatusFailed, failed.reason.String(), failed.message
	case cancelled != nil && errors.Is(cancelled.cancel, errCancelled):
		res.Status, res.Reason, res.Message = StatusCancelled, v1.TaskRunReasonCancelled.String(), cancelled.cancel.Error()
	case cancelled != nil:
		res.Status, res.Reason, res.Message = StatusFailed, v1.TaskRunReasonCancelled.String(), cancelled.cancel.Error()
	case cached == len(names):
		res.Status, res.Attempts = StatusCached, 0
	}
	r.emit(ptName, res.Status, max(res.Attempts, 1), res.Reason)
}

// pipelineTaskResults are a pipeline task's results as shown to users: its TaskRun's, or, for a matrix, each
// result as a JSON array of the TaskRuns' values in matrix order (what $(tasks.<t>.results.<r>[*]) gives).
func (r *runner) pipelineTaskResults(names []string) map[string]string {
	if len(names) == 1 {
		return resultStrings(r.taskRuns[names[0]].Status.Results)
	}
	values := map[string][]string{}
	for _, name := range names {
		for k, v := range resultStrings(r.taskRuns[name].Status.Results) {
			values[k] = append(values[k], v)
		}
	}
	if len(values) == 0 {
		return nil
	}
	out := map[string]string{}
	for k, vs := range values {
		b, _ := json.Marshal(vs)
		out[k] = string(b)
	}
	return out
}

func resultStrings(results []v1.TaskRunResult) map[string]string {
	if len(results) == 0 {
		return nil
	}
	m := map[string]string{}
	for _, res := range results {
		if res.Value.Type == v1.ParamTypeString {
			m[res.Name] = res.Value.StringVal
			continue
		}
		b, _ := res.Value.MarshalJSON()
		m[res.Name] = string(b)
	}
	return m
}

// markSkipped gives every task that never ran its Tekton skipping reason.
func (r *runner) markSkipped(facts *resources.PipelineRunFacts) {
	for _, rpt := range facts.State {
		res := r.results[rpt.PipelineTask.Name]
		if res.Status != StatusPending {
			continue
		}
		if msg, ok := r.validationFailed[rpt.PipelineTask.Name]; ok {
			res.Status, res.Reason, res.Message = StatusFailed, v1.PipelineRunReasonInvalidTaskResultReference.String(), msg
			r.emit(res.Name, res.Status, 0, res.Reason)
			continue
		}
		reason := rpt.Skip(facts).SkippingReason
		if rpt.IsFinalTask(facts) {
			reason = rpt.IsFinallySkipped(facts).SkippingReason
		}
		res.Status, res.Reason = StatusSkipped, string(reason)
		r.emit(res.Name, res.Status, 0, res.Reason)
	}
}

// complete builds the Result, writes the run record and returns it.
func (r *runner) complete(cond *apis.Condition) (*Result, error) {
	status := "Failed"
	if cond.Status == corev1.ConditionTrue {
		status = "Succeeded"
		r.pr.Status.MarkSucceeded(cond.Reason, "%s", cond.Message)
	} else {
		r.pr.Status.MarkFailed(cond.Reason, "%s", cond.Message)
	}
	r.pr.Status.CompletionTime = &metav1.Time{Time: r.clk.Now()}
	res := &Result{
		RunID: r.opts.RunID, Pipeline: r.pipeline.Name, PipelineRun: r.pr.Name, Dir: r.dir,
		Status: status, Reason: cond.Reason, Message: cond.Message,
		Params: r.effectiveParams(), Overrides: r.opts.Params,
		Started: r.pr.Status.StartTime.Time, Finished: r.pr.Status.CompletionTime.Time,
	}
	for _, name := range r.order {
		res.Tasks = append(res.Tasks, *r.results[name])
	}
	r.summarize(res)
	if err := r.recordRun(res); err != nil {
		return res, err
	}
	return res, nil
}

// effectiveParams returns the params the run used: defaults overridden by Options.Params.
func (r *runner) effectiveParams() map[string]string {
	out := map[string]string{}
	for _, ps := range r.pipeline.Spec.Params {
		if ps.Default != nil && ps.Default.Type == v1.ParamTypeString {
			out[ps.Name] = ps.Default.StringVal
		}
	}
	for k, v := range r.opts.Params {
		out[k] = v
	}
	return out
}

// summarize fills the gate, model version and metrics of a run from the
// Pipeline's mlpipe annotations and the task results.
func (r *runner) summarize(res *Result) {
	ann := r.pipeline.Annotations
	if gt := ann[GateTaskAnnotation]; gt != "" {
		g := &Gate{Task: gt, Metric: ann[GateMetricAnnotation]}
		if f, err := strconv.ParseFloat(ann[GateThresholdAnnotation], 64); err == nil {
			g.Threshold = &f
		}
		if t := res.Task(gt); t != nil && t.Results != nil {
			for _, name := range []string{g.Metric, "metric-value"} {
				if v, ok := t.Results[name]; ok && name != "" {
					if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
						g.Value = &f
						break
					}
				}
			}
			if v, ok := t.Results["passed"]; ok {
				b := strings.TrimSpace(v) == "true"
				g.Passed = &b
			}
			if uri, ok := t.Results["metrics-uri"]; ok {
				if src := cache.LocalPath(uri); src != "" {
					dst := filepath.Join(r.dir, "metrics.json")
					if copyFile(src, dst) == nil {
						res.Metrics = dst
						readEvaluateGate(dst, g)
					}
				}
			}
		}
		res.Gate = g
	}
	res.AlertNotSent = r.readAlertNotSent()
	if !r.opts.DeployToCluster {
		for _, pt := range r.spec.Tasks {
			if t := r.results[pt.Name]; (t.Status == StatusSucceeded || t.Status == StatusCached) && r.runsBuiltin(pt, "deploy") {
				res.PrintedNotApplied = append(res.PrintedNotApplied, pt.Name)
			}
		}
	}
	for _, name := range r.order {
		if v, ok := r.results[name].Results["model-version"]; ok && r.results[name].Status != StatusFailed {
			res.ModelVersion = v
		}
	}
}

// runsBuiltin reports whether a pipeline task's Task has a step running the built-in step program verb.
func (r *runner) runsBuiltin(pt v1.PipelineTask, verb string) bool {
	var ts *v1.TaskSpec
	switch {
	case pt.TaskSpec != nil:
		ts = &pt.TaskSpec.TaskSpec
	case pt.TaskRef != nil && r.tasks[pt.TaskRef.Name] != nil:
		ts = &r.tasks[pt.TaskRef.Name].Spec
	default:
		return false
	}
	for _, s := range ts.Steps {
		if builtinStep(s) == verb {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// cachingEnabled applies the Pipeline's mlpipe.dev/cache switch (default on) and --no-cache.
func (r *runner) cachingEnabled() bool {
	if r.opts.NoCache {
		return false
	}
	return r.pipeline.Annotations[CacheAnnotation] != "false"
}

// paramValue reads a -p value for a param of type typ as tkn does: an array as a,b,c (or a JSON array), an
// object as k:v,k2:v2 (or a JSON object), a string as is.
func paramValue(typ v1.ParamType, raw string) (v1.ParamValue, error) {
	switch typ {
	case v1.ParamTypeArray:
		if strings.HasPrefix(strings.TrimSpace(raw), "[") {
			var items []string
			if err := json.Unmarshal([]byte(raw), &items); err != nil {
				return v1.ParamValue{}, fmt.Errorf("array value %q is not a JSON array of strings: %v", raw, err)
			}
			return v1.ParamValue{Type: v1.ParamTypeArray, ArrayVal: append([]string{}, items...)}, nil
		}
		return v1.ParamValue{Type: v1.ParamTypeArray, ArrayVal: strings.Split(raw, ",")}, nil
	case v1.ParamTypeObject:
		obj := map[string]string{}
		if strings.HasPrefix(strings.TrimSpace(raw), "{") {
			if err := json.Unmarshal([]byte(raw), &obj); err != nil {
				return v1.ParamValue{}, fmt.Errorf("object value %q is not a JSON object of strings: %v", raw, err)
			}
		} else {
			for _, kv := range strings.Split(raw, ",") {
				k, v, ok := strings.Cut(kv, ":")
				if !ok {
					return v1.ParamValue{}, fmt.Errorf("object value %q: want key:value,key2:value2 or a JSON object", raw)
				}
				obj[k] = v
			}
		}
		return *v1.NewObject(obj), nil
	}
	return *v1.NewStructuredValues(raw), nil
}

// copyFile copies src to dst, creating dst's directory.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	info, err := in.Stat()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, info.Mode().Perm()|0o200)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
