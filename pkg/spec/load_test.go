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

package spec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const base = `apiVersion: mlpipe.dev/v1alpha1
kind: MLPipeline
metadata:
  name: churn
spec:
  data:
    uri: s3://datasets/churn/train.csv
    label: churned
`

func TestLoadValid(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		check func(t *testing.T, p *MLPipeline)
	}{{
		name: "minimal spec gets defaults",
		yaml: base,
		check: func(t *testing.T, p *MLPipeline) {
			ev := p.Spec.Steps.Evaluate
			if ev.Metric != "accuracy" || ev.Operator != ">=" || *ev.Threshold != DefaultThreshold {
				t.Errorf("gate defaults = %s %s %v", ev.Metric, ev.Operator, *ev.Threshold)
			}
			if !p.Spec.Cache.On() || p.Spec.Cache.Store != "" || *p.Spec.Data.TestFraction != 0.2 || *p.Spec.Data.Seed != 42 || p.Spec.Data.Missing != "drop" || p.Spec.Data.Delimiter != "" {
				t.Errorf("defaults not applied: %+v", p.Spec)
			}
		},
	}, {
		name: "cache: false is the short form of enabled: false",
		yaml: base + "  cache: false\n",
		check: func(t *testing.T, p *MLPipeline) {
			if p.Spec.Cache.On() || p.Spec.Cache.Cluster() {
				t.Errorf("cache = %+v, want off", p.Spec.Cache)
			}
		},
	}, {
		name: "cluster cache form",
		yaml: base + "  cache: {store: s3://mlpipe/cache, maxAge: 720h}\n",
		check: func(t *testing.T, p *MLPipeline) {
			c := p.Spec.Cache
			if !c.On() || !c.Cluster() || c.Store != "s3://mlpipe/cache" || c.MaxAge != "720h" {
				t.Errorf("cache = %+v, want enabled (the default) with store s3://mlpipe/cache and maxAge 720h", c)
			}
		},
	}, {
		name: "cluster cache form switched off",
		yaml: base + "  cache:\n    enabled: false\n    store: s3://mlpipe/cache\n",
		check: func(t *testing.T, p *MLPipeline) {
			if p.Spec.Cache.On() || p.Spec.Cache.Cluster() {
				t.Errorf("cache = %+v, want off", p.Spec.Cache)
			}
		},
	}, {
		name: "delimiter and missing-value policy",
		yaml: base + "    delimiter: tab\n    missing: impute\n",
		check: func(t *testing.T, p *MLPipeline) {
			if p.Spec.Data.Delimiter != "tab" || p.Spec.Data.Missing != "impute" {
				t.Errorf("delimiter, missing = %q, %q; want \"tab\", \"impute\"", p.Spec.Data.Delimiter, p.Spec.Data.Missing)
			}
		},
	}, {
		name: "log-loss defaults to <=",
		yaml: base + "  steps:\n    evaluate: {metric: log-loss, threshold: 0.5}\n",
		check: func(t *testing.T, p *MLPipeline) {
			if p.Spec.Steps.Evaluate.Operator != "<=" {
				t.Errorf("operator = %q, want <=", p.Spec.Steps.Evaluate.Operator)
			}
		},
	}, {
		name: "numbers in params become strings, GPU limits and inline script",
		yaml: base + "  params: {epochs: 20, dropout: 0.5}\n  steps:\n    train:\n      image: python:3.12\n      script: |\n        #!/usr/bin/env python3\n        print('hi')\n      resources: {limits: {nvidia.com/gpu: 4}}\n      timeout: 2h\n      retries: 1\n",
		check: func(t *testing.T, p *MLPipeline) {
			if p.Spec.Params["epochs"] != "20" || p.Spec.Params["dropout"] != "0.5" {
				t.Errorf("params = %v", p.Spec.Params)
			}
			if p.Spec.Steps.Train.Resources.Limits["nvidia.com/gpu"] != "4" {
				t.Errorf("limits = %v", p.Spec.Steps.Train.Resources.Limits)
			}
			if !strings.Contains(p.Spec.Steps.Train.ScriptText, "print('hi')") {
				t.Errorf("ScriptText = %q", p.Spec.Steps.Train.ScriptText)
			}
		},
	}, {
		name: "register model name defaults to the pipeline name; schedule defaults",
		yaml: base + "  register: {store: file:///models}\n  triggers:\n    schedule: {cron: '@daily'}\n    s3: {bucket: datasets}\n",
		check: func(t *testing.T, p *MLPipeline) {
			if p.Spec.Register.ModelName != "churn" {
				t.Errorf("modelName = %q", p.Spec.Register.ModelName)
			}
			if s := p.Spec.Triggers.Schedule; s.TimeZone != "UTC" || s.ConcurrencyPolicy != "Forbid" {
				t.Errorf("schedule defaults = %+v", s)
			}
			if e := p.Spec.Triggers.S3.Events; len(e) != 1 || e[0] != "s3:ObjectCreated:*" {
				t.Errorf("s3 events = %v", e)
			}
		},
	}, {
		name: "deploy.kubernetes defaults: metadata.namespace, one replica",
		yaml: strings.Replace(base, "  name: churn\n", "  name: churn\n  namespace: ml\n", 1) +
			"  register: {store: s3://models/churn}\n  deploy:\n    kubernetes: {name: churn}\n",
		check: func(t *testing.T, p *MLPipeline) {
			d := p.Spec.Deploy
			if d.Target() != TargetKubernetes || d.Name() != "churn" || d.Namespace() != "ml" || *d.Kubernetes.Replicas != 1 {
				t.Errorf("deploy = %s %s/%s replicas %d, want kubernetes ml/churn replicas 1", d.Target(), d.Namespace(), d.Name(), *d.Kubernetes.Replicas)
			}
		},
	}, {
		name: "deploy.kubernetes with replicas and resources",
		yaml: base + "  register: {store: s3://models/churn}\n  deploy:\n    kubernetes:\n      name: churn\n      namespace: serving\n" +
			"      replicas: 3\n      resources: {requests: {cpu: 100m, memory: 64Mi}, limits: {memory: 256Mi}}\n",
		check: func(t *testing.T, p *MLPipeline) {
			k := p.Spec.Deploy.Kubernetes
			want := Resources{Requests: map[string]string{"cpu": "100m", "memory": "64Mi"}, Limits: map[string]string{"memory": "256Mi"}}
			if *k.Replicas != 3 || k.Namespace != "serving" || !cmp.Equal(want, *k.Resources) {
				t.Errorf("kubernetes = %+v %+v", k, k.Resources)
			}
		},
	}, {
		name: "deploy.kserve is still the kserve target",
		yaml: base + "  register: {store: s3://models/churn}\n  deploy: {kserve: {name: churn}}\n",
		check: func(t *testing.T, p *MLPipeline) {
			if d := p.Spec.Deploy; d.Target() != TargetKServe || d.Name() != "churn" || d.Kubernetes != nil {
				t.Errorf("deploy = %s %s, want kserve churn", d.Target(), d.Name())
			}
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Load("mlpipe.yaml", []byte(tt.yaml))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			tt.check(t, p)
		})
	}
}

func TestLoadInvalid(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{{
		name: "empty file",
		yaml: "",
		want: []string{"f.yaml:1:1: spec is empty: expected an MLPipeline document"},
	}, {
		name: "syntax error",
		yaml: "apiVersion: x\n  kind: y\n",
		want: []string{"f.yaml:2:1: invalid YAML: mapping values are not allowed in this context"},
	}, {
		name: "two documents",
		yaml: base + "---\n" + base,
		want: []string{"f.yaml:1:1: expected one MLPipeline document, found several (separated by ---)"},
	}, {
		name: "wrong apiVersion and kind",
		yaml: strings.Replace(strings.Replace(base, "mlpipe.dev/v1alpha1", "v1", 1), "MLPipeline", "Pipeline", 1),
		want: []string{
			`f.yaml:1:1: apiVersion: must be "mlpipe.dev/v1alpha1", got "v1"`,
			`f.yaml:2:1: kind: must be "MLPipeline", got "Pipeline"`,
		},
	}, {
		name: "unknown field with suggestion",
		yaml: base + "  trigers: {}\n",
		want: []string{`f.yaml:9:3: spec.trigers: unknown field "trigers" (did you mean "triggers"?)`},
	}, {
		name: "unknown nested field with suggestion",
		yaml: base + "  steps:\n    train: {imagee: x}\n",
		want: []string{`f.yaml:10:13: spec.steps.train.imagee: unknown field "imagee" (did you mean "image"?)`},
	}, {
		name: "unknown step",
		yaml: base + "  steps:\n    tune: {}\n",
		want: []string{`f.yaml:10:5: spec.steps.tune: unknown field "tune"`},
	}, {
		name: "unknown field far from any",
		yaml: base + "  zzzzzzzzzz: 1\n",
		want: []string{`f.yaml:9:3: spec.zzzzzzzzzz: unknown field "zzzzzzzzzz"`},
	}, {
		name: "missing name",
		yaml: strings.Replace(base, "  name: churn\n", "  namespace: ml\n", 1),
		want: []string{"f.yaml:3:1: metadata.name: required"},
	}, {
		name: "bad name",
		yaml: strings.Replace(base, "name: churn", "name: Churn_Model", 1),
		want: []string{`f.yaml:4:3: metadata.name: invalid name "Churn_Model": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character`},
	}, {
		name: "name too long",
		yaml: strings.Replace(base, "name: churn", "name: "+strings.Repeat("a", 41), 1),
		want: []string{"f.yaml:4:3: metadata.name: must be at most 40 characters, got 41"},
	}, {
		name: "missing data uri and label",
		yaml: strings.Replace(strings.Replace(base, "    uri: s3://datasets/churn/train.csv\n", "", 1), "    label: churned\n", "    testFraction: 0.3\n", 1),
		want: []string{
			"f.yaml:6:3: spec.data.uri: required: the training CSV (file:///path, s3://bucket/key or a path)",
			"f.yaml:6:3: spec.data.label: required: the name of the target column",
		},
	}, {
		name: "unsupported uri scheme",
		yaml: strings.Replace(base, "s3://datasets/churn/train.csv", "http://example.com/x.csv", 1),
		want: []string{`f.yaml:7:5: spec.data.uri: unsupported URI scheme "http" in "http://example.com/x.csv": use file:// or s3://`},
	}, {
		name: "bad bucket in s3 uri",
		yaml: strings.Replace(base, "s3://datasets/churn/train.csv", "s3://Data_Sets/x.csv", 1),
		want: []string{`f.yaml:7:5: spec.data.uri: s3 URI "s3://Data_Sets/x.csv" needs a valid bucket name (3-63 lowercase letters, digits, '.', '-')`},
	}, {
		name: "relative file uri",
		yaml: strings.Replace(base, "s3://datasets/churn/train.csv", "file://data/x.csv", 1),
		want: []string{`f.yaml:7:5: spec.data.uri: file URI "file://data/x.csv" must be absolute: file:///path`},
	}, {
		name: "test fraction out of range and negative seed",
		yaml: base + "    testFraction: 1.5\n    seed: -1\n",
		want: []string{
			"f.yaml:9:5: spec.data.testFraction: must be between 0 and 1 (exclusive), got 1.5",
			"f.yaml:10:5: spec.data.seed: must not be negative, got -1",
		},
	}, {
		name: "excluded columns: the label, a duplicate, an empty name",
		yaml: base + "    exclude: [id, churned, id, \"\"]\n",
		want: []string{
			`f.yaml:9:19: spec.data.exclude[1]: "churned" is the label column (spec.data.label): it cannot be excluded`,
			`f.yaml:9:28: spec.data.exclude[2]: column "id" is listed twice`,
			`f.yaml:9:32: spec.data.exclude[3]: empty column name`,
		},
	}, {
		name: "unknown delimiter and missing-value policy",
		yaml: base + "    delimiter: \"tabs\"\n    missing: imputed\n",
		want: []string{
			`f.yaml:9:5: spec.data.delimiter: unknown delimiter "tabs": use one of ",", ";", "tab", "|", or leave it empty to detect it (did you mean "tab"?)`,
			`f.yaml:10:5: spec.data.missing: unknown missing-value policy "imputed": use one of "drop", "impute" (did you mean "impute"?)`,
		},
	}, {
		name: "delimiter and missing as params",
		yaml: base + "  params: {delimiter: \";\", missing: impute}\n",
		want: []string{
			`f.yaml:9:12: spec.params.delimiter: param "delimiter" is set from the spec itself; remove it from spec.params`,
			`f.yaml:9:28: spec.params.missing: param "missing" is set from the spec itself; remove it from spec.params`,
		},
	}, {
		name: "wrong scalar type",
		yaml: base + "    seed: forty-two\n",
		want: []string{`f.yaml:9:11: spec.data.seed: expected an integer, got "forty-two"`},
	}, {
		name: "mapping where a string belongs",
		yaml: base + "  steps:\n    train:\n      image: {name: x}\n",
		want: []string{`f.yaml:11:14: spec.steps.train.image: expected a string, got a mapping`},
	}, {
		name: "list where a mapping belongs",
		yaml: base + "  params: [a, b]\n",
		want: []string{`f.yaml:9:11: spec.params: expected a mapping, got a list`},
	}, {
		name: "bad param values and names",
		yaml: base + "  params:\n    epochs: \"-3\"\n    learning-rate: fast\n    9lives: x\n    label: y\n",
		want: []string{
			`f.yaml:10:5: spec.params.epochs: must be a positive integer, got "-3"`,
			`f.yaml:11:5: spec.params.learning-rate: must be a positive number, got "fast"`,
			`f.yaml:12:5: spec.params.9lives: invalid param name "9lives": use letters, digits, '-', '_' and '.', starting with a letter or '_'`,
			`f.yaml:13:5: spec.params.label: param "label" is set from the spec itself; remove it from spec.params`,
		},
	}, {
		name: "gate fields outside evaluate",
		yaml: base + "  steps:\n    train: {threshold: 0.9}\n",
		want: []string{"f.yaml:10:13: spec.steps.train.threshold: only valid on spec.steps.evaluate (the gate)"},
	}, {
		name: "unknown metric and operator, threshold out of range",
		yaml: base + "  steps:\n    evaluate:\n      metric: acuracy\n      operator: =>\n      threshold: 90\n",
		want: []string{
			`f.yaml:11:7: spec.steps.evaluate.metric: unknown metric "acuracy": use one of "accuracy", "precision", "recall", "f1", "log-loss" (did you mean "accuracy"?)`,
			`f.yaml:12:7: spec.steps.evaluate.operator: unknown operator "=>": use one of ">=", ">", "<=", "<"`,
		},
	}, {
		name: "an abbreviation gets a suggestion",
		yaml: base + "  steps:\n    evaluate: {metric: acc}\n",
		want: []string{`f.yaml:10:16: spec.steps.evaluate.metric: unknown metric "acc": use one of "accuracy", "precision", "recall", "f1", "log-loss" (did you mean "accuracy"?)`},
	}, {
		name: "a gate direction that passes worse models",
		yaml: base + "  steps:\n    evaluate:\n      metric: log-loss\n      operator: \">=\"\n      threshold: 0.5\n",
		want: []string{`f.yaml:12:7: spec.steps.evaluate.operator: ">=" passes models whose log-loss is above the threshold, but a higher log-loss is worse: use "<=" (or "<")`},
	}, {
		name: "a score gated from above",
		yaml: base + "  steps:\n    evaluate: {metric: f1, operator: \"<\", threshold: 0.5}\n",
		want: []string{`f.yaml:10:28: spec.steps.evaluate.operator: "<" passes models whose f1 is below the threshold, but a lower f1 is worse: use ">=" (or ">")`},
	}, {
		name: "threshold above 1 for accuracy",
		yaml: base + "  steps:\n    evaluate: {threshold: 90}\n",
		want: []string{"f.yaml:10:16: spec.steps.evaluate.threshold: accuracy is between 0 and 1, got 90"},
	}, {
		name: "script without image, script file missing",
		yaml: base + "  steps:\n    train: {script: steps/nope.py}\n",
		want: []string{
			`f.yaml:10:5: spec.steps.train.image: required with script: an image that has the script's interpreter`,
			`f.yaml:10:13: spec.steps.train.script: cannot read script file "steps/nope.py": no such file or directory`,
		},
	}, {
		name: "script and command",
		yaml: base + "  steps:\n    train: {image: x, script: 'echo hi', command: [sh]}\n",
		want: []string{"f.yaml:10:23: spec.steps.train.script: script and command are mutually exclusive"},
	}, {
		name: "bad timeout, retries, env and resources",
		yaml: base + "  steps:\n    train:\n      timeout: 2 hours\n      retries: -1\n      env: {1BAD: x}\n      resources:\n        requests: {memory: 16Gi}\n        limits: {memory: 8Gi, cpu: lots}\n",
		want: []string{
			`f.yaml:11:7: spec.steps.train.timeout: invalid duration "2 hours": use a Go duration such as 90m or 2h`,
			`f.yaml:12:7: spec.steps.train.retries: must be between 0 and 10, got -1`,
			`f.yaml:13:13: spec.steps.train.env.1BAD: invalid environment variable name "1BAD"`,
			`f.yaml:16:18: spec.steps.train.resources.limits.memory: limit 8Gi is below the request 16Gi`,
			`f.yaml:16:31: spec.steps.train.resources.limits.cpu: invalid quantity "lots": use forms like 500m, 2, 4Gi`,
		},
	}, {
		name: "store with an unsupported scheme",
		yaml: base + "  register: {store: \"http://models/churn\"}\n",
		want: []string{`f.yaml:9:14: spec.register.store: unsupported URI scheme "http" in "http://models/churn": use file:// or s3://`},
	}, {
		name: "model-store is the generator's param",
		yaml: base + "  params: {model-store: s3://x/y}\n",
		want: []string{`f.yaml:9:12: spec.params.model-store: param "model-store" is set from the spec itself; remove it from spec.params`},
	}, {
		name: "deploy needs register and a target",
		yaml: base + "  deploy: {}\n",
		want: []string{
			"f.yaml:9:3: spec.deploy: required: one target, kserve (a KServe InferenceService) or kubernetes (a Deployment and a Service, no KServe needed)",
			"f.yaml:9:3: spec.deploy: needs spec.register: deploy serves the registered model version",
		},
	}, {
		name: "deploy with both targets",
		yaml: base + "  register: {store: s3://models/x}\n  deploy:\n    kserve: {name: churn}\n    kubernetes: {name: churn}\n",
		want: []string{"f.yaml:12:5: spec.deploy.kubernetes: kserve and kubernetes are mutually exclusive: choose one deploy target"},
	}, {
		name: "deploy.kubernetes: bad replicas, name, namespace and resources, all at once",
		yaml: base + "  register: {store: s3://models/x}\n  deploy:\n    kubernetes:\n      name: 1churn\n      namespace: Serving\n" +
			"      replicas: 0\n      resources: {requests: {memory: 1Gi}, limits: {memory: 512Mi, cpu: lots}}\n",
		want: []string{
			`f.yaml:12:7: spec.deploy.kubernetes.name: invalid name "1churn": the Service is named after it: a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character`,
			`f.yaml:13:7: spec.deploy.kubernetes.namespace: invalid name "Serving": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character`,
			`f.yaml:14:7: spec.deploy.kubernetes.replicas: must be between 1 and 2147483647, got 0`,
			`f.yaml:15:53: spec.deploy.kubernetes.resources.limits.memory: limit 512Mi is below the request 1Gi`,
			`f.yaml:15:68: spec.deploy.kubernetes.resources.limits.cpu: invalid quantity "lots": use forms like 500m, 2, 4Gi`,
		},
	}, {
		name: "deploy.kubernetes: negative replicas, no name, unknown field",
		yaml: base + "  register: {store: s3://models/x}\n  deploy:\n    kubernetes: {replicas: -2, replica: 2}\n",
		want: []string{
			`f.yaml:11:5: spec.deploy.kubernetes.name: required`,
			`f.yaml:11:18: spec.deploy.kubernetes.replicas: must be between 1 and 2147483647, got -2`,
			`f.yaml:11:32: spec.deploy.kubernetes.replica: unknown field "replica" (did you mean "replicas"?)`,
		},
	}, {
		name: "deploy.kubernetes: replicas not an integer",
		yaml: base + "  register: {store: s3://models/x}\n  deploy:\n    kubernetes: {name: churn, replicas: two}\n",
		want: []string{`f.yaml:11:41: spec.deploy.kubernetes.replicas: expected an integer, got "two"`},
	}, {
		name: "canary out of range",
		yaml: base + "  register: {store: s3://models/x}\n  deploy:\n    kserve: {name: churn, canaryTrafficPercent: 150}\n",
		want: []string{"f.yaml:11:27: spec.deploy.kserve.canaryTrafficPercent: must be between 0 and 100, got 150"},
	}, {
		name: "alert without secret",
		yaml: base + "  alert:\n    webhook: {secretRef: {name: Alerts!, key: ''}}\n",
		want: []string{
			`f.yaml:10:27: spec.alert.webhook.secretRef.name: invalid name "Alerts!": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`,
			`f.yaml:10:42: spec.alert.webhook.secretRef.key: must be a Secret key (letters, digits, '-', '_', '.'), got ""`,
		},
	}, {
		name: "bad cron, zone and policy",
		yaml: base + "  triggers:\n    schedule:\n      cron: 0 25 * * *\n      timeZone: Mars/Olympus\n      concurrencyPolicy: forbid\n",
		want: []string{
			`f.yaml:11:7: spec.triggers.schedule.cron: invalid cron expression "0 25 * * *": end of range (25) above maximum (23): 25`,
			`f.yaml:12:7: spec.triggers.schedule.timeZone: unknown time zone "Mars/Olympus": use an IANA name such as Europe/Berlin`,
			`f.yaml:13:7: spec.triggers.schedule.concurrencyPolicy: must be one of "Allow", "Forbid", "Replace", got "forbid" (did you mean "Forbid"?)`,
		},
	}, {
		name: "@every below a minute rejected",
		yaml: base + "  triggers:\n    schedule: {cron: '@every 30s'}\n",
		want: []string{`f.yaml:10:16: spec.triggers.schedule.cron: "@every 30s": the interval must be a whole number of minutes, at least 1m`},
	}, {
		name: "bad s3 trigger",
		yaml: base + "  triggers:\n    s3:\n      bucket: My_Bucket\n      events: [s3:ObjectCreated:Putt]\n      marker: a/_SUCCESS\n",
		want: []string{
			`f.yaml:11:7: spec.triggers.s3.bucket: invalid bucket name "My_Bucket": 3-63 lowercase letters, digits, '.' and '-'`,
			`f.yaml:12:16: spec.triggers.s3.events[0]: unknown event "s3:ObjectCreated:Putt": use one of "s3:ObjectCreated:*", "s3:ObjectCreated:Put", "s3:ObjectCreated:Post", "s3:ObjectCreated:Copy", "s3:ObjectCreated:CompleteMultipartUpload" (did you mean "s3:ObjectCreated:Put"?)`,
			`f.yaml:13:7: spec.triggers.s3.marker: must be a base name such as _SUCCESS, got "a/_SUCCESS"`,
		},
	}, {
		name: "duplicate field",
		yaml: base + "  cache: true\n  cache: false\n",
		want: []string{"f.yaml:10:3: spec.cache: duplicate field"},
	}, {
		name: "cache not a bool",
		yaml: base + "  cache: maybe\n",
		want: []string{`f.yaml:9:10: spec.cache: expected true or false, got "maybe"`},
	}, {
		name: "cache cluster form: unknown field, bad store and max age",
		yaml: base + "  cache:\n    enable: true\n    store: http://x/cache\n    maxAge: 30d\n",
		want: []string{
			`f.yaml:10:5: spec.cache.enable: unknown field "enable" (did you mean "enabled"?)`,
			`f.yaml:11:5: spec.cache.store: unsupported URI scheme "http" in "http://x/cache": use file:// or s3://`,
			`f.yaml:12:5: spec.cache.maxAge: must be a positive duration such as 720h, got "30d"`,
		},
	}, {
		name: "cache a list",
		yaml: base + "  cache: [true]\n",
		want: []string{`f.yaml:9:10: spec.cache: expected a mapping, got a list`},
	}, {
		name: "bad storage endpoint and workspace size",
		yaml: base + "  storage: {endpoint: 'minio:9000'}\n  workspace: {size: lots}\n",
		want: []string{
			`f.yaml:9:13: spec.storage.endpoint: must be an http:// or https:// URL, got "minio:9000"`,
			`f.yaml:10:15: spec.workspace.size: must be a quantity such as 1Gi, got "lots"`,
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load("f.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatal("Load succeeded, want errors")
			}
			got := strings.Split(err.Error(), "\n")
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadFileScript(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "steps"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "steps", "train.py"), []byte("print('train')\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "mlpipe.yaml")
	if err := os.WriteFile(file, []byte(base+"  steps:\n    train: {image: python:3.12, script: steps/train.py}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := LoadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if p.Spec.Steps.Train.ScriptText != "print('train')\n" {
		t.Errorf("ScriptText = %q", p.Spec.Steps.Train.ScriptText)
	}
	if _, err := LoadFile(filepath.Join(dir, "missing.yaml")); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("LoadFile(missing) = %v", err)
	}
}

func FuzzLoad(f *testing.F) {
	f.Add([]byte(base))
	f.Add([]byte(base + "  params: {epochs: 20}\n  steps:\n    evaluate: {metric: f1, threshold: 0.9}\n"))
	f.Add([]byte(base + "  triggers:\n    schedule: {cron: '0 2 * * 1', timeZone: Europe/Berlin}\n    s3: {bucket: datasets}\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Add([]byte("{{{"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Load("fuzz.yaml", data)
		if err != nil {
			var list ErrorList
			if !asList(err, &list) || len(list) == 0 {
				t.Fatalf("Load returned %T %v, want a non-empty ErrorList", err, err)
			}
			for _, e := range list {
				if e.Pos.Line < 1 {
					t.Fatalf("error without a line: %v", e)
				}
			}
			return
		}
		if p.Spec.Steps.Evaluate == nil || p.Spec.Cache == nil {
			t.Fatal("valid spec without defaults")
		}
	})
}

func asList(err error, list *ErrorList) bool {
	l, ok := err.(ErrorList)
	*list = l
	return ok
}

// TestRegistryStoreDefault: a register section without a store keeps the registry in the project, at
// .mlpipe/registry beside the spec, made absolute for a local run so that no task's working folder changes it.
func TestRegistryStoreDefault(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "mlpipe.yaml")
	if err := os.WriteFile(file, []byte(base+"  register: {modelName: churn}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := LoadFile(file)
	if err != nil {
		t.Fatalf("LoadFile: %v", err)
	}
	if got := p.Spec.Register.Store; got != ".mlpipe/registry" {
		t.Errorf("store = %q, want .mlpipe/registry", got)
	}
	p.LocalDataPath()
	if got, want := p.Spec.Register.Store, filepath.Join(dir, ".mlpipe", "registry"); got != want {
		t.Errorf("store for a local run = %q, want %q", got, want)
	}
}
