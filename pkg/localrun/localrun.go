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

// Package localrun executes a Tekton Pipeline on this machine, with the
// scheduling, substitution, when and finally semantics of the Tekton
// controller: each scheduling pass rebuilds the PipelineRun state with the
// functions of github.com/tektoncd/pipeline/pkg/reconciler/pipelinerun/resources
// (ResolvePipelineTask, PipelineRunFacts, DAGExecutionQueue, GetFinalTasks,
// GetPipelineConditionStatus) and the only thing that differs from the cluster
// is the backend: a TaskRun is a sequence of local processes instead of a Pod.
package localrun

import (
	"io"
	"time"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"k8s.io/utils/clock"
)

// TaskStatus is the outcome of one PipelineTask as mlpipe reports it.
type TaskStatus string

const (
	// StatusPending means the task has not started yet.
	StatusPending TaskStatus = "Pending"
	// StatusRunning means the task's steps are executing.
	StatusRunning TaskStatus = "Running"
	// StatusSucceeded means the TaskRun succeeded.
	StatusSucceeded TaskStatus = "Succeeded"
	// StatusFailed means the TaskRun failed (after its retries), timed out, or was cancelled by a pipeline timeout.
	StatusFailed TaskStatus = "Failed"
	// StatusCancelled means the run was cancelled (Ctrl-C, SIGTERM) while the task was running.
	StatusCancelled TaskStatus = "Cancelled"
	// StatusSkipped means Tekton's scheduling skipped the task (when, parent skipped, timeout, failure).
	StatusSkipped TaskStatus = "Skipped"
	// StatusCached means the outputs and results were restored from the cache.
	StatusCached TaskStatus = "Cached"
)

// Annotations mlpipe's generator sets on a Pipeline (and, for CacheAnnotation, optionally on a Task).
const (
	// CacheAnnotation switches caching: "false" on the Pipeline disables it for the run,
	// "false" on a Task makes that Task never cached.
	CacheAnnotation = "mlpipe.dev/cache"
	// GateTaskAnnotation names the pipeline task whose results hold the gate metric.
	GateTaskAnnotation = "mlpipe.dev/gate-task"
	// GateMetricAnnotation names the gate metric (a result of the gate task).
	GateMetricAnnotation = "mlpipe.dev/gate-metric"
	// GateThresholdAnnotation is the threshold the gate metric is compared with.
	GateThresholdAnnotation = "mlpipe.dev/gate-threshold"
)

// Options configure one local run.
type Options struct {
	// Params override the Pipeline's param defaults, as PipelineRun.spec.params would.
	Params map[string]string
	// Parallel bounds how many TaskRuns execute at once; 0 means 4.
	Parallel int
	// NoCache disables cache lookups and stores for this run.
	NoCache bool
	// PassEnv names host variables passed to every step beside the declared env and the runner's baseline
	// (see BaselineEnv); by default a step sees nothing else of this machine's environment.
	PassEnv []string
	// DeployToCluster lets steps contact the cluster KUBECONFIG names: they get MLPIPE_CLUSTER_ACCESS=kubeconfig
	// instead of none, the deploy step applies its InferenceService, and tasks running it are not cached (the
	// cluster's state is an input the cache cannot see). Without it a local run never contacts a cluster.
	DeployToCluster bool
	// CacheStore is the URI of a shared cache (s3://bucket/prefix, file:///dir), e.g. the spec's cache.store,
	// whose entries the cluster's steps read and write too; "" means <Root>/cache.
	CacheStore string
	// Root is the state directory holding runs/ and cache/; "" means ".mlpipe".
	Root string
	// RunID names the run folder; "" generates one from the start time.
	RunID string
	// Namespace is $(context.pipelineRun.namespace); "" means "default".
	Namespace string
	// SelfCommand is the argv prefix that runs this binary; steps with
	// command ["mlpipe-step", ...] run as SelfCommand + "step" + args.
	// Empty means os.Executable().
	SelfCommand []string
	// Timeouts are the PipelineRun's spec.timeouts; nil keeps Tekton's default
	// (config default-timeout-minutes, 60m) for the pipeline.
	Timeouts *v1.TimeoutFields
	// Events receives progress events; it is called from the scheduling
	// goroutine only, so it needs no locking of its own.
	Events func(Event)
	// Log receives diagnostic lines (cache decisions, retries); nil discards them.
	Log io.Writer
	// Clock is where every time the runner reads or waits for comes from: start and completion times,
	// the TaskRun, step and PipelineRun timeouts, and the grace period between SIGTERM and SIGKILL of a
	// step's process group. nil means the wall clock (clock.RealClock); tests pass a FakeClock and step it.
	Clock clock.WithDelayedExecution
}

// Event reports a task's state change to a display.
type Event struct {
	// Task is the PipelineTask name.
	Task string
	// Final is true for tasks under finally.
	Final bool
	// Status is the new state.
	Status TaskStatus
	// Attempt counts from 1; it grows on retries.
	Attempt int
	// Reason is Tekton's reason for the state (e.g. WhenExpressionsSkip, TaskRunTimeout).
	Reason string
	// Time is when the change happened.
	Time time.Time
	// Dir is the run folder (absolute); the task's log is Dir/tasks/<task>/log.txt.
	Dir string
}

// TaskResult is the record of one PipelineTask in a run.
type TaskResult struct {
	// Name is the PipelineTask name.
	Name string `json:"name"`
	// Final is true for finally tasks.
	Final bool `json:"final,omitempty"`
	// Status is Succeeded, Failed, Cancelled, Skipped or Cached.
	Status TaskStatus `json:"status"`
	// Reason is the TaskRun condition reason or the Tekton skipping reason.
	Reason string `json:"reason,omitempty"`
	// Message explains a failure.
	Message string `json:"message,omitempty"`
	// Attempts is the number of executions (1 + retries used); 0 if skipped or cached.
	Attempts int `json:"attempts,omitempty"`
	// Results are the task's results (string form; arrays and objects as JSON).
	Results map[string]string `json:"results,omitempty"`
	// Started and Finished bound the task's execution.
	Started  time.Time `json:"started,omitzero"`
	Finished time.Time `json:"finished,omitzero"`
	// CacheKey is the task's cache key ("" when caching was off for it).
	CacheKey string `json:"cacheKey,omitempty"`
	// CachedFrom is the run whose outputs were restored on a cache hit.
	CachedFrom string `json:"cachedFrom,omitempty"`
	// Log is the log of the task's (first failed) TaskRun, relative to the run folder.
	Log string `json:"log,omitempty"`
}

// Result is the outcome of a run.
type Result struct {
	// RunID names the run folder.
	RunID string `json:"runID"`
	// Pipeline is the Pipeline name.
	Pipeline string `json:"pipeline"`
	// PipelineRun is the name used for $(context.pipelineRun.name).
	PipelineRun string `json:"pipelineRun"`
	// Dir is the run folder (.mlpipe/runs/<pipeline>/<run-id>).
	Dir string `json:"dir"`
	// Status is "Succeeded" or "Failed" (the PipelineRun's Succeeded condition); a cancelled run is "Failed" with
	// Reason "Cancelled", as in Tekton.
	Status string `json:"status"`
	// Reason and Message are the PipelineRun condition's.
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
	// Params are the effective pipeline params (defaults plus overrides).
	Params map[string]string `json:"params,omitempty"`
	// Overrides are the params the run was given (Options.Params, `mlpipe run -p`).
	Overrides map[string]string `json:"overrides,omitempty"`
	// Started and Finished bound the run.
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	// Tasks are in pipeline order, finally tasks last.
	Tasks []TaskResult `json:"tasks"`
	// Gate summarises the gate metric when the Pipeline carries the gate annotations.
	Gate *Gate `json:"gate,omitempty"`
	// ModelVersion is the model-version result of the run, if any task produced one.
	ModelVersion string `json:"modelVersion,omitempty"`
	// Metrics is the path of the copied metrics.json, if the gate task produced one.
	Metrics string `json:"metrics,omitempty"`
	// PrintedNotApplied names the tasks that ran the built-in deploy step without cluster access (no
	// DeployToCluster): they printed what they would apply and applied nothing.
	PrintedNotApplied []string `json:"printedNotApplied,omitempty"`
	// AlertNotSent is the message a built-in alert step would have sent, when no webhook was configured on this
	// machine (see AlertPreviewEnv): the step printed it instead of failing.
	AlertNotSent string `json:"alertNotSent,omitempty"`
}

// Cancelled reports whether the run was cancelled (Ctrl-C, SIGTERM) before it finished.
func (r *Result) Cancelled() bool { return r.Reason == v1.PipelineRunReasonCancelled.String() }

// GateFailed reports whether the gate task ran and its passed result is not "true".
func (r *Result) GateFailed() bool { return r.Gate != nil && r.Gate.Passed != nil && !*r.Gate.Passed }

// Gate is the quality gate of a run.
type Gate struct {
	// Task is the gate task's name.
	Task string `json:"task"`
	// Metric is the gate metric's name.
	Metric string `json:"metric"`
	// Threshold is the gate's bound: the one the evaluate step compared with (its metrics.json), else the
	// Pipeline's annotation (the spec's threshold).
	Threshold *float64 `json:"threshold,omitempty"`
	// Value is the metric value, when the gate task ran.
	Value *float64 `json:"value,omitempty"`
	// Passed is the gate task's passed result, when it ran.
	Passed *bool `json:"passed,omitempty"`
	// Champion is the comparison with the registry's champion, when evaluate made one
	// (read from its metrics.json): a model above the threshold still fails when it does
	// not beat the champion.
	Champion *Champion `json:"champion,omitempty"`
	// ChampionSkipped says why the evaluate step did not compare the registry's champion (it was trained for
	// another label, classes or features), in the step's words; the gate then decided on the threshold alone.
	ChampionSkipped string `json:"championSkipped,omitempty"`
	// Reasons are the evaluate step's sentences for a failed gate, one per failed test (threshold, champion).
	Reasons []string `json:"reasons,omitempty"`
}

// Champion is the evaluate step's comparison with the current champion model.
type Champion struct {
	Version  int     `json:"version"`
	Value    float64 `json:"value"`
	MinDelta float64 `json:"minDelta"`
	Passed   bool    `json:"passed"`
}

// Succeeded reports whether the PipelineRun would be Succeeded.
func (r *Result) Succeeded() bool { return r.Status == "Succeeded" }

// Task returns the named task's result, or nil.
func (r *Result) Task(name string) *TaskResult {
	for i := range r.Tasks {
		if r.Tasks[i].Name == name {
			return &r.Tasks[i]
		}
	}
	return nil
}
