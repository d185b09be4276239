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
	"encoding/csv"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/mlpipe/mlpipe/pkg/cache"
	mlgate "github.com/mlpipe/mlpipe/pkg/gate"
	"github.com/mlpipe/mlpipe/pkg/spec"
)

// DefaultStepImage is the image of the built-in steps: cmd/mlpipe-step built by ko
// (ko resolve -f out/ replaces it with a digest); --step-image sets a published one.
const DefaultStepImage = "ko://github.com/mlpipe/mlpipe/cmd/mlpipe-step"

// TaskVersion is the catalog version of the reusable Tasks in tasks/.
const TaskVersion = "0.1"

// DefaultS3SecretName is the Secret the steps read S3 credentials from when the spec names none.
const DefaultS3SecretName = "mlpipe-s3"

// Param is a Task or Pipeline param as the templates render it.
type Param struct {
	Name, Type, Default, Description string
	HasDefault                       bool
	// Placeholder is what the sample PipelineRun passes for a Pipeline param without a default.
	Placeholder string
}

// TaskData is what a task-<step>.yaml.tmpl template renders.
type TaskData struct {
	Step, TaskName, Version, StepImage string
	// Namespace is the pipeline's (empty for the catalog Tasks).
	Namespace string
	// Custom is the spec's override of this step, nil for the built-in step.
	Custom *spec.Step
	// UserContainer is true when the user's image, script or command replaces the built-in program.
	UserContainer bool
	Params        []Param
	// Args are the built-in program's arguments.
	Args        []string
	UsesStorage bool
	// ExtraEnv are pre-rendered env entries (secret references).
	ExtraEnv []string
	// Cache configures the step's cluster cache; nil when the Task is not cached (see cacheData).
	Cache *CacheData
}

// CacheData is what a cached Task's step gets (the env of pkg/cache.EnvFrom).
type CacheData struct {
	// Store and MaxAge are spec.cache's.
	Store, MaxAge string
	// Task is the Task's digest (pkg/cache/taskdigest), filled in once the Task has been rendered.
	Task string
	// Params are the Task's string params, the key's param components.
	Params []string
}

// WhenData is one when expression of a pipeline task.
type WhenData struct {
	Input, Operator, CEL string
	Values               []string
}

// ParamValue is one param a pipeline task passes to its Task.
type ParamValue struct {
	Name, Value string
	Array       []string
}

// PipelineTaskData is one entry of the Pipeline's tasks or finally.
type PipelineTaskData struct {
	Name, TaskName, Timeout string
	Retries                 int
	RunAfter                []string
	When                    []WhenData
	Params                  []ParamValue
}

// GateData describes the evaluation gate.
type GateData struct {
	Metric, Operator, Threshold string
}

// PipelineData is what pipeline.yaml.tmpl, pipelinerun.yaml.tmpl and kustomization.yaml.tmpl render.
type PipelineData struct {
	Name, Namespace string
	// Cache is spec.cache's switch (the mlpipe.dev/cache annotation).
	Cache         bool
	Gate          GateData
	Params        []Param
	Register      bool
	PipelineTasks []PipelineTaskData
	Finally       []PipelineTaskData
	WorkspaceSize string
	StorageClass  string
	Resources     []string
	// Schedule is spec.triggers.schedule, nil without one.
	Schedule *ScheduleData
	// ServiceAccount is what every run's TaskRuns run as (RunnerServiceAccount); empty without spec.deploy.
	ServiceAccount string
}

// RequiredParams are the Pipeline params without a default: a run must pass them.
func (d *PipelineData) RequiredParams() []Param {
	var out []Param
	for _, p := range d.Params {
		if !p.HasDefault {
			out = append(out, p)
		}
	}
	return out
}

// ScheduleData is what schedule.yaml.tmpl renders.
type ScheduleData struct {
	Cron, TimeZone, ConcurrencyPolicy string
	StartingDeadlineSeconds           int64
	Suspend                           bool
}

// stepParams returns the params a step's Task declares, with the reusable Task's defaults.
func stepParams(step string, p *spec.MLPipeline, extra []string) []Param {
	req := func(name, desc string) Param { return Param{Name: name, Description: desc} }
	def := func(name, d, desc string) Param {
		return Param{Name: name, Default: d, HasDefault: true, Description: desc}
	}
	switch step {
	case "preprocess":
		return []Param{
			req("data-uri", "URI of the training CSV (file:// or s3://)."),
			req("label", "Name of the target column."),
			def("test-fraction", "0.2", "Share of rows held out for evaluation."),
			def("seed", "42", "Seed of the stratified split."),
			def("exclude", "", "Columns left out of the features, comma-separated (CSV quoting for names with commas)."),
			def("delimiter", "", `CSV field delimiter: ",", ";", "tab" or "|" (empty: detect it).`),
			def("missing", "drop", `Rows with a missing value: "drop" them, or "impute" the value from the training split (median or most frequent; the model applies the same when serving).`),
		}
	case "train":
		ps := []Param{
			req("dataset-uri", "URI of the preprocessed dataset directory."),
			def("epochs", spec.DefaultParams["epochs"], "Passes over the training split."),
			def("learning-rate", spec.DefaultParams["learning-rate"], "Gradient descent step size."),
			def("batch-size", spec.DefaultParams["batch-size"], "Rows per mini-batch."),
			def("l2", spec.DefaultParams["l2"], "L2 regularisation strength."),
			def("seed", "42", "Seed of weight initialisation and batch order."),
		}
		for _, name := range extra {
			ps = append(ps, def(name, p.Spec.Params[name], "User parameter "+name+" from spec.params."))
		}
		return ps
	case "evaluate":
		return []Param{
			req("dataset-uri", "URI of the preprocessed dataset directory (its test split is scored)."),
			req("model-uri", "URI of the trained model directory."),
			def("metric", "accuracy", "Gate metric: accuracy, precision, recall, f1 or log-loss."),
			def("operator", ">=", "How the metric is compared to the threshold: >=, >, <= or <."),
			def("threshold", "0.8", "Threshold the gate metric must satisfy."),
			def("min-delta", "0", "When registry is set: the metric must beat the champion's by more than this (a tie never passes)."),
			def("registry", "", "Registry root holding the champion model to compare with (empty: no comparison)."),
			def("model-name", "", "Model name in the registry."),
		}
	case "register":
		return []Param{
			req("store", "Registry root (file:///dir or s3://bucket/prefix)."),
			req("model-name", "Model name in the registry."),
			req("model-uri", "URI of the trained model directory."),
			req("metrics-uri", "URI of the evaluation metrics."),
			req("dataset-digest", "Digest of the training data, recorded for lineage."),
			def("pipeline-run", "", "Name of the PipelineRun that produced the model."),
			{Name: "hyperparams", Type: "array", HasDefault: true, Description: "Hyperparameters recorded in the metadata, as --param=name=value."},
		}
	case "deploy":
		return []Param{
			req("model-uri", "URI of the registered model version."),
			req("name", "Name of the InferenceService, or of the Deployment and the Service (target kubernetes); also the served model's name."),
			def("namespace", "", "Namespace to deploy into (empty: the TaskRun's namespace)."),
			req("serving-image", "Image whose mlpipe-step serve answers inference requests."),
			def("target", spec.TargetKServe, "What serves the model: kserve (a KServe InferenceService) or kubernetes (a Deployment and a Service, no KServe needed)."),
			def("canary-percent", "0", "Target kserve: traffic share for the new revision (0: all traffic)."),
			def("replicas", strconv.Itoa(spec.DefaultReplicas), "Target kubernetes: number of predictor Pods."),
			def("resources", "", `Target kubernetes: the predictor container's resources as JSON, e.g. `+"`"+`{"requests":{"cpu":"100m"},"limits":{"memory":"256Mi"}}`+"`"+` (empty: none).`),
			def("timeout", "10m", "How long to wait for the InferenceService to become Ready, or for the rollout to complete."),
		}
	case "alert":
		return []Param{
			req("pipeline-run", "Name of the PipelineRun the alert is about."),
			req("status", "Aggregate status of the pipeline tasks ($(tasks.status))."),
			{Name: "task-statuses", Type: "array", HasDefault: true, Description: "Status of each task, as --task-status=name=Status."},
			def("metric", "accuracy", "Gate metric name."),
			def("threshold", "", "Gate threshold."),
			def("webhook-secret-name", "mlpipe-alert", "Secret holding the webhook URL."),
			def("webhook-secret-key", "url", "Key of the webhook URL in the Secret."),
		}
	}
	panic(fmt.Sprintf("unknown step %q", step))
}

// stepArgs returns the built-in program's arguments; params reach it as whole arguments
// (no shell), outputs go under the artifacts workspace.
func stepArgs(step string, extra []string) []string {
	out := func(dir string) string { return "--out=$(workspaces.artifacts.path)/" + dir }
	switch step {
	case "preprocess":
		return []string{"--data=$(params.data-uri)", "--label=$(params.label)", "--test-fraction=$(params.test-fraction)", "--seed=$(params.seed)", "--exclude=$(params.exclude)", "--delimiter=$(params.delimiter)", "--missing=$(params.missing)", out("dataset")}
	case "train":
		return []string{"--dataset=$(params.dataset-uri)", "--epochs=$(params.epochs)", "--learning-rate=$(params.learning-rate)", "--batch-size=$(params.batch-size)", "--l2=$(params.l2)", "--seed=$(params.seed)", out("model")}
	case "evaluate":
		return []string{"--dataset=$(params.dataset-uri)", "--model=$(params.model-uri)", "--metric=$(params.metric)", "--operator=$(params.operator)", "--threshold=$(params.threshold)", "--min-delta=$(params.min-delta)", "--registry=$(params.registry)", "--model-name=$(params.model-name)", out("metrics")}
	case "register":
		return []string{"--store=$(params.store)", "--model-name=$(params.model-name)", "--model=$(params.model-uri)", "--metrics=$(params.metrics-uri)", "--dataset-digest=$(params.dataset-digest)", "--pipeline-run=$(params.pipeline-run)", "$(params.hyperparams[*])"}
	case "deploy":
		return []string{"--target=$(params.target)", "--model-uri=$(params.model-uri)", "--name=$(params.name)", "--namespace=$(params.namespace)", "--image=$(params.serving-image)", "--canary-percent=$(params.canary-percent)", "--replicas=$(params.replicas)", "--resources=$(params.resources)", "--s3-secret-name=$(params.s3-secret-name)", "--timeout=$(params.timeout)"}
	case "alert":
		return []string{"--pipeline-run=$(params.pipeline-run)", "--status=$(params.status)", "--metric=$(params.metric)", "--threshold=$(params.threshold)", "--metrics-file=$(workspaces.artifacts.path)/metrics/metrics.json", "--errors-dir=$(workspaces.artifacts.path)/errors", "$(params.task-statuses[*])"}
	}
	return nil
}

// usesStorage says which steps read or write URIs that may be s3://. Deploy passes its S3 settings on to the
// predictor, which reads the registered model.
func usesStorage(step string) bool {
	return step != "alert"
}

// extraParams are the spec.params that are not built-in hyperparameters: they go to the train step.
func extraParams(p *spec.MLPipeline) []string {
	var out []string
	for name := range p.Spec.Params {
		if _, builtin := spec.DefaultParams[name]; !builtin {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// pipelineParams are the Pipeline's params: what `tkn pipeline start -p` can set. A param that carries a
// path relative to the spec (spec.data.uri, spec.register.store) gets no default: it means nothing in a Pod,
// so tkn asks for it (spec.MLPipeline.Warnings says so). Local runs make such paths absolute first
// (spec.MLPipeline.LocalDataPath), which gives these params their defaults again.
func pipelineParams(p *spec.MLPipeline, extra []string) []Param {
	ev := p.Spec.Steps.Evaluate
	ps := []Param{
		locationParam("data-uri", p.Spec.Data.URI, "URI of the training CSV", "s3://<bucket>/<key>", "spec.data.uri"),
		{Name: "label", Default: p.Spec.Data.Label, Description: "Name of the target column."},
		{Name: "test-fraction", Default: mlgate.Format(*p.Spec.Data.TestFraction), Description: "Share of rows held out for evaluation."},
		{Name: "seed", Default: strconv.Itoa(*p.Spec.Data.Seed), Description: "Seed of the split and the training."},
		{Name: "exclude", Default: csvLine(p.Spec.Data.Exclude), Description: "Columns left out of the features, comma-separated."},
		{Name: "delimiter", Default: p.Spec.Data.Delimiter, Description: "CSV field delimiter (empty: detect it)."},
		{Name: "missing", Default: p.Spec.Data.Missing, Description: "Rows with a missing value: drop or impute."},
	}
	for _, name := range []string{"epochs", "learning-rate", "batch-size", "l2"} {
		ps = append(ps, Param{Name: name, Default: p.Param(name), Description: "Training hyperparameter " + name + "."})
	}
	for _, name := range extra {
		ps = append(ps, Param{Name: name, Default: p.Spec.Params[name], Description: "User parameter " + name + " from spec.params."})
	}
	ps = append(ps, Param{Name: "threshold", Default: mlgate.Format(*ev.Threshold), Description: fmt.Sprintf("Gate: register and deploy run only when %s %s threshold.", ev.Metric, ev.Operator)})
	if r := p.Spec.Register; r != nil {
		ps = append(ps, locationParam("model-store", r.Store, "Registry root: register stores the model version there, evaluate reads the champion from it", "s3://<bucket>/<prefix>", "spec.register.store"))
	}
	st := storageOf(p)
	ps = append(ps,
		Param{Name: "s3-endpoint", Default: st.Endpoint, Description: "S3-compatible endpoint for s3:// URIs (empty: AWS S3)."},
		Param{Name: "s3-region", Default: st.Region, Description: "Region of the S3 buckets."},
		Param{Name: "s3-secret-name", Default: st.SecretName, Description: "Secret with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (optional)."},
	)
	if p.Spec.Cache.Cluster() {
		ps = append(ps,
			Param{Name: cache.ParamEnabled, Default: "true", Description: "\"false\" runs every task without the cache (cache: " + p.Spec.Cache.Store + ")."},
			Param{Name: cache.ParamSkip, Default: "", Description: "Tasks that run without the cache, comma-separated (e.g. train,evaluate)."},
		)
	}
	for i := range ps {
		ps[i].HasDefault = ps[i].Placeholder == ""
	}
	return ps
}

// locationParam is the Pipeline param that carries a data or registry location: with the spec's value as its
// default, or with none (and a placeholder for the sample PipelineRun) when that value is a relative path.
func locationParam(name, value, what, placeholder, field string) Param {
	if spec.IsRelativePath(value) {
		return Param{Name: name, Placeholder: placeholder, Description: fmt.Sprintf(
			"%s (s3:// in a cluster). No default: %s is a path on this machine; tkn pipeline start -p %s=%s.", what, field, name, placeholder)}
	}
	return Param{Name: name, Default: value, Description: what + "."}
}

// envName turns a param name into an environment variable name: learning-rate → LEARNING_RATE.
func envName(name string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_':
			return r
		}
		return '_'
	}, name)
}

// csvLine joins names as one CSV record, quoting a name that holds a comma or a quote.
func csvLine(names []string) string {
	if len(names) == 0 {
		return ""
	}
	var b strings.Builder
	w := csv.NewWriter(&b)
	_ = w.Write(names)
	w.Flush()
	return strings.TrimSuffix(b.String(), "\n")
}
