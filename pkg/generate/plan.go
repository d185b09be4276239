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
	"encoding/json"
	"sort"
	"strconv"

	"github.com/mlpipe/mlpipe/pkg/cache"
	mlgate "github.com/mlpipe/mlpipe/pkg/gate"
	"github.com/mlpipe/mlpipe/pkg/spec"
)

type plan struct {
	tasks    []*TaskData
	pipeline *PipelineData
}

// taskName is mlpipe-<step> for the reusable built-in Task, <pipeline>-<step> for a customised one or one
// that carries the pipeline's cache store.
func taskName(p *spec.MLPipeline, step string) string {
	if p.Spec.Steps.StepByName(step).Custom() || p.Spec.Cache.Cluster() && cache.CachedStep(step) {
		return p.Metadata.Name + "-" + step
	}
	return "mlpipe-" + step
}

// enabledSteps are the steps the spec asks for, in order.
func enabledSteps(p *spec.MLPipeline) []string {
	steps := []string{"preprocess", "train", "evaluate"}
	if p.Spec.Register != nil {
		steps = append(steps, "register")
	}
	if p.Spec.Deploy != nil {
		steps = append(steps, "deploy")
	}
	if p.Spec.Alert != nil {
		steps = append(steps, "alert")
	}
	return steps
}

func storageOf(p *spec.MLPipeline) spec.Storage {
	s := spec.Storage{SecretName: DefaultS3SecretName}
	if p.Spec.Storage != nil {
		s.Endpoint, s.Region = p.Spec.Storage.Endpoint, p.Spec.Storage.Region
		if p.Spec.Storage.SecretName != "" {
			s.SecretName = p.Spec.Storage.SecretName
		}
	}
	return s
}

// newTaskData describes the Task of one step, as the reusable catalog Task or the spec's variant.
func newTaskData(p *spec.MLPipeline, step, stepImage string) *TaskData {
	custom := p.Spec.Steps.StepByName(step)
	var extra []string
	if step == "train" && custom.Custom() {
		extra = extraParams(p)
	}
	td := &TaskData{
		Step:        step,
		TaskName:    taskName(p, step),
		Version:     TaskVersion,
		StepImage:   stepImage,
		Params:      stepParams(step, p, extra),
		Args:        stepArgs(step, extra),
		UsesStorage: usesStorage(step),
	}
	if custom.Custom() {
		td.Custom = custom
		td.UserContainer = custom.Image != "" || custom.ScriptText != "" || len(custom.Command) > 0
	}
	td.Cache = cacheData(p, td)
	if step == "alert" {
		td.ExtraEnv = []string{
			"        - name: ALERT_WEBHOOK_URL\n          valueFrom:\n            secretKeyRef:\n              name: $(params.webhook-secret-name)\n              key: $(params.webhook-secret-key)",
		}
	}
	return td
}

// cacheData is the cache of td's step: nil unless spec.cache has a store and the step runs the built-in program
// (a user's container has no cache hook; see tasks/README.md).
func cacheData(p *spec.MLPipeline, td *TaskData) *CacheData {
	if !p.Spec.Cache.Cluster() || !cache.CachedStep(td.Step) || td.UserContainer {
		return nil
	}
	cd := &CacheData{Store: p.Spec.Cache.Store, MaxAge: p.Spec.Cache.MaxAge}
	for _, prm := range td.Params {
		if prm.Type == "" || prm.Type == "string" {
			cd.Params = append(cd.Params, prm.Name)
		}
	}
	if td.UsesStorage {
		cd.Params = append(cd.Params, "s3-endpoint", "s3-region", "s3-secret-name")
	}
	return cd
}

func newPlan(p *spec.MLPipeline, opts Options) *plan {
	pl := &plan{}
	steps := enabledSteps(p)
	for _, s := range steps {
		td := newTaskData(p, s, opts.StepImage)
		td.Namespace = p.Metadata.Namespace
		pl.tasks = append(pl.tasks, td)
	}
	ev := p.Spec.Steps.Evaluate
	extra := extraParams(p)
	pd := &PipelineData{
		Name:          p.Metadata.Name,
		Namespace:     p.Metadata.Namespace,
		Cache:         p.Spec.Cache.On(),
		Gate:          GateData{Metric: ev.Metric, Operator: ev.Operator, Threshold: mlgate.Format(*ev.Threshold)},
		Params:        pipelineParams(p, extra),
		Register:      p.Spec.Register != nil,
		WorkspaceSize: p.Spec.Workspace.Size,
		StorageClass:  p.Spec.Workspace.StorageClass,
	}
	if p.Spec.Deploy != nil {
		pd.ServiceAccount = RunnerServiceAccount(p)
	}
	var gate []WhenData
	if opts.When == WhenCEL {
		// The same decision as evaluate's passed result (pkg/gate): the threshold test and, when
		// evaluate compared a champion, beating its value by more than min-delta.
		gate = []WhenData{{CEL: mlgate.CEL("evaluate", ev.Metric, ev.Operator, "$(params.threshold)", mlgate.Format(*ev.MinDelta))}}
	} else {
		gate = []WhenData{{Input: "$(tasks.evaluate.results." + mlgate.ResultPassed + ")", Operator: "in", Values: []string{"true"}}}
	}
	pv := func(name, value string) ParamValue { return ParamValue{Name: name, Value: value} }
	timing := func(step string, t *PipelineTaskData) {
		if st := p.Spec.Steps.StepByName(step); st != nil {
			t.Timeout, t.Retries = st.Timeout, st.Retries
		}
	}
	var names []string
	for _, td := range pl.tasks {
		t := PipelineTaskData{Name: td.Step, TaskName: td.TaskName}
		timing(td.Step, &t)
		switch td.Step {
		case "preprocess":
			t.Params = []ParamValue{pv("data-uri", "$(params.data-uri)"), pv("label", "$(params.label)"), pv("test-fraction", "$(params.test-fraction)"), pv("seed", "$(params.seed)"), pv("exclude", "$(params.exclude)"), pv("delimiter", "$(params.delimiter)"), pv("missing", "$(params.missing)")}
		case "train":
			t.Params = []ParamValue{pv("dataset-uri", "$(tasks.preprocess.results.dataset-uri)")}
			for _, n := range []string{"epochs", "learning-rate", "batch-size", "l2", "seed"} {
				t.Params = append(t.Params, pv(n, "$(params."+n+")"))
			}
			if p.Spec.Steps.Train.Custom() {
				for _, n := range extra {
					t.Params = append(t.Params, pv(n, "$(params."+n+")"))
				}
			}
		case "evaluate":
			registry, model := "", ""
			if p.Spec.Register != nil {
				registry, model = "$(params.model-store)", p.Spec.Register.ModelName
			}
			t.Params = []ParamValue{
				pv("dataset-uri", "$(tasks.preprocess.results.dataset-uri)"), pv("model-uri", "$(tasks.train.results.model-uri)"),
				pv("metric", ev.Metric), pv("operator", ev.Operator), pv("threshold", "$(params.threshold)"),
				pv("min-delta", mlgate.Format(*ev.MinDelta)), pv("registry", registry), pv("model-name", model),
			}
		case "register":
			t.When = gate
			var hyper []string
			for _, n := range append([]string{"epochs", "learning-rate", "batch-size", "l2", "seed", "test-fraction"}, extra...) {
				hyper = append(hyper, "--param="+n+"=$(params."+n+")")
			}
			t.Params = []ParamValue{
				pv("store", "$(params.model-store)"), pv("model-name", p.Spec.Register.ModelName),
				pv("model-uri", "$(tasks.train.results.model-uri)"), pv("metrics-uri", "$(tasks.evaluate.results.metrics-uri)"),
				pv("dataset-digest", "$(tasks.preprocess.results.dataset-digest)"), pv("pipeline-run", "$(context.pipelineRun.name)"),
				{Name: "hyperparams", Array: hyper},
			}
		case "deploy":
			t.When = gate
			d := p.Spec.Deploy
			t.Params = []ParamValue{
				pv("model-uri", "$(tasks.register.results.model-uri)"), pv("name", d.Name()), pv("namespace", d.Namespace()),
				pv("serving-image", opts.StepImage), pv("target", d.Target()),
			}
			if ks := d.KServe; ks != nil {
				canary := 0
				if ks.CanaryTrafficPercent != nil {
					canary = *ks.CanaryTrafficPercent
				}
				t.Params = append(t.Params, pv("canary-percent", strconv.Itoa(canary)))
			}
			if k := d.Kubernetes; k != nil {
				replicas := 1 // the spec's default, for a spec built in Go rather than loaded
				if k.Replicas != nil {
					replicas = *k.Replicas
				}
				t.Params = append(t.Params, pv("replicas", strconv.Itoa(replicas)))
				if k.Resources != nil {
					t.Params = append(t.Params, pv("resources", resourcesJSON(k.Resources)))
				}
			}
		case "alert":
			ref := p.Spec.Alert.Webhook.SecretRef
			var statuses []string
			for _, n := range names {
				statuses = append(statuses, "--task-status="+n+"=$(tasks."+n+".status)")
			}
			t.When = []WhenData{{Input: "$(tasks.status)", Operator: "notin", Values: []string{"Succeeded"}}}
			t.Params = []ParamValue{
				pv("pipeline-run", "$(context.pipelineRun.name)"), pv("status", "$(tasks.status)"),
				{Name: "task-statuses", Array: statuses},
				pv("metric", ev.Metric), pv("threshold", "$(params.threshold)"),
				pv("webhook-secret-name", ref.Name), pv("webhook-secret-key", ref.Key),
			}
			pd.Finally = append(pd.Finally, t)
			continue
		}
		if td.UsesStorage {
			for _, n := range []string{"s3-endpoint", "s3-region", "s3-secret-name"} {
				t.Params = append(t.Params, pv(n, "$(params."+n+")"))
			}
		}
		if td.Cache != nil {
			t.Params = append(t.Params, pv(cache.ParamEnabled, "$(params."+cache.ParamEnabled+")"), pv(cache.ParamSkip, "$(params."+cache.ParamSkip+")"))
		}
		names = append(names, td.Step)
		pd.PipelineTasks = append(pd.PipelineTasks, t)
	}
	if t := p.Spec.Triggers; t != nil && t.Schedule != nil {
		pd.Schedule = &ScheduleData{Cron: t.Schedule.Cron, TimeZone: t.Schedule.TimeZone, ConcurrencyPolicy: t.Schedule.ConcurrencyPolicy, Suspend: t.Schedule.Suspend}
		if d := t.Schedule.StartingDeadlineSeconds; d != nil {
			pd.Schedule.StartingDeadlineSeconds = *d
		}
	}
	pl.pipeline = pd
	return pl
}

// resourcesJSON is the deploy step's --resources: spec resources as a corev1.ResourceRequirements in JSON
// (map keys sorted, so the rendering is stable).
func resourcesJSON(r *spec.Resources) string {
	data, err := json.Marshal(struct {
		Limits   map[string]string `json:"limits,omitempty"`
		Requests map[string]string `json:"requests,omitempty"`
	}{r.Limits, r.Requests})
	if err != nil {
		panic(err) // maps of strings always marshal
	}
	return string(data)
}

func sortStrings(s []string) []string {
	sort.Strings(s)
	return s
}
