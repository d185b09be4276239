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

// Package spec loads and validates mlpipe.yaml, the MLPipeline spec that every
// other part of mlpipe starts from.
package spec

// APIVersion is the only apiVersion an MLPipeline may have.
const APIVersion = "mlpipe.dev/v1alpha1"

// Kind is the only kind an MLPipeline may have.
const Kind = "MLPipeline"

// StepNames lists the pipeline's steps in execution order.
var StepNames = []string{"preprocess", "train", "evaluate", "register", "deploy", "alert"}

// MLPipeline is the whole mlpipe.yaml document.
type MLPipeline struct {
	APIVersion string   `yaml:"apiVersion"`
	Kind       string   `yaml:"kind"`
	Metadata   Metadata `yaml:"metadata"`
	Spec       Spec     `yaml:"spec"`

	// File is the path the spec was read from; it prefixes every error.
	File string `yaml:"-"`
	// Dir is the directory relative script paths are resolved from.
	Dir string `yaml:"-"`
	// Warnings are what in this valid spec works in a local run but not in a cluster (local data and
	// registry paths, ...), in file order. They never stop mlpipe; generate and validate print them.
	Warnings ErrorList `yaml:"-"`
	// positions maps a field path (spec.steps.train.timeout) to where it was written.
	positions map[string]Position
}

// Metadata names the pipeline.
type Metadata struct {
	Name        string            `yaml:"name"`
	Namespace   string            `yaml:"namespace,omitempty"`
	Labels      map[string]string `yaml:"labels,omitempty"`
	Annotations map[string]string `yaml:"annotations,omitempty"`
}

// Spec is the body of an MLPipeline.
type Spec struct {
	// Data is the training data source.
	Data Data `yaml:"data"`
	// Storage configures access to s3:// URIs (endpoint, region, credentials Secret).
	Storage *Storage `yaml:"storage,omitempty"`
	// Params become Pipeline params with these defaults; they override the built-in
	// hyperparameter defaults and are passed to the train step.
	Params map[string]string `yaml:"params,omitempty"`
	// Steps overrides the built-in steps.
	Steps Steps `yaml:"steps,omitempty"`
	// Register stores each model that passes the gate as an immutable version.
	Register *Register `yaml:"register,omitempty"`
	// Deploy serves the registered model.
	Deploy *Deploy `yaml:"deploy,omitempty"`
	// Alert posts to a webhook when the gate fails or a task fails.
	Alert *Alert `yaml:"alert,omitempty"`
	// Triggers start the pipeline in a cluster.
	Triggers *Triggers `yaml:"triggers,omitempty"`
	// Cache reuses task outputs when their inputs did not change: true or false (the local cache only), or the
	// cluster form {enabled, store, maxAge}.
	Cache *Cache `yaml:"cache,omitempty"`
	// Workspace sizes the PVC of the sample PipelineRun (default 1Gi).
	Workspace *Workspace `yaml:"workspace,omitempty"`
}

// Cache configures the task cache. `cache: true` and `cache: false` are shorthands for {enabled: true} and
// {enabled: false}.
type Cache struct {
	// Enabled switches the cache (default true).
	Enabled *bool `yaml:"enabled,omitempty"`
	// Store is the URI of a shared cache (s3://bucket/prefix, or file:///path on a volume every step mounts).
	// With it the generated preprocess, train and evaluate Tasks cache in the cluster. Local runs keep their own
	// cache in .mlpipe/cache unless run with `mlpipe run --cache-store <this URI>`.
	Store string `yaml:"store,omitempty"`
	// MaxAge is the age (a Go duration such as 720h) beyond which an entry is not reused; empty means no limit.
	MaxAge string `yaml:"maxAge,omitempty"`
}

// On reports whether the cache is enabled.
func (c *Cache) On() bool { return c == nil || c.Enabled == nil || *c.Enabled }

// Cluster reports whether the generated Tasks cache in the cluster: enabled with a store.
func (c *Cache) Cluster() bool { return c.On() && c != nil && c.Store != "" }

// Data is where the training CSV comes from.
type Data struct {
	// URI is file://, a plain path (local runs only) or s3://bucket/key.
	URI string `yaml:"uri"`
	// Label names the target column (default "label").
	Label string `yaml:"label,omitempty"`
	// TestFraction is the held-out share of rows (default 0.2).
	TestFraction *float64 `yaml:"testFraction,omitempty"`
	// Seed makes the split and the training deterministic (default 42).
	Seed *int `yaml:"seed,omitempty"`
	// Exclude names columns that are not features: identifiers, free text, columns that leak the label.
	Exclude []string `yaml:"exclude,omitempty"`
	// Delimiter is the CSV's field delimiter: ",", ";", "tab" or "|"; empty detects it from the file.
	Delimiter string `yaml:"delimiter,omitempty"`
	// Missing says what happens to a row with a missing value: "drop" it (the default) or "impute" the value
	// from the training split (median or most frequent), which serving then applies the same way.
	Missing string `yaml:"missing,omitempty"`
}

// Storage configures the S3 client of every step.
type Storage struct {
	// Endpoint is an S3-compatible endpoint such as a MinIO URL; empty means AWS.
	Endpoint string `yaml:"endpoint,omitempty"`
	// Region is the AWS region.
	Region string `yaml:"region,omitempty"`
	// SecretName names a Secret with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
	SecretName string `yaml:"secretName,omitempty"`
}

// Steps holds one override per built-in step.
type Steps struct {
	Preprocess *Step `yaml:"preprocess,omitempty"`
	Train      *Step `yaml:"train,omitempty"`
	Evaluate   *Step `yaml:"evaluate,omitempty"`
	Register   *Step `yaml:"register,omitempty"`
	Deploy     *Step `yaml:"deploy,omitempty"`
	Alert      *Step `yaml:"alert,omitempty"`
}

// Step overrides how one step runs. An empty Step ({}) is the built-in step.
type Step struct {
	// Image replaces the mlpipe step image.
	Image string `yaml:"image,omitempty"`
	// Script is inline script text (it has a newline or a space) or the path of a
	// script file relative to mlpipe.yaml, inlined into the Task at generation time.
	Script string `yaml:"script,omitempty"`
	// ScriptText is the script the Task runs: Script itself, or the file it names.
	ScriptText string `yaml:"-"`
	// Command and Args replace the step's entrypoint when there is no script.
	Command []string `yaml:"command,omitempty"`
	Args    []string `yaml:"args,omitempty"`
	// Env adds environment variables.
	Env map[string]string `yaml:"env,omitempty"`
	// Resources sets requests and limits (cpu, memory, nvidia.com/gpu, …).
	Resources *Resources `yaml:"resources,omitempty"`
	// Timeout bounds one attempt of the task (Go duration, e.g. 2h).
	Timeout string `yaml:"timeout,omitempty"`
	// Retries is how often a failed task is retried.
	Retries int `yaml:"retries,omitempty"`

	// Metric, Operator, Threshold and MinDelta configure the gate; evaluate only.
	Metric    string   `yaml:"metric,omitempty"`
	Operator  string   `yaml:"operator,omitempty"`
	Threshold *float64 `yaml:"threshold,omitempty"`
	MinDelta  *float64 `yaml:"minDelta,omitempty"`
}

// Resources are container requests and limits as quantity strings.
type Resources struct {
	Requests map[string]string `yaml:"requests,omitempty"`
	Limits   map[string]string `yaml:"limits,omitempty"`
}

// Register configures the model registry.
type Register struct {
	// Store is the registry root: s3://bucket/prefix, file:///abs/dir or a path (local runs only,
	// relative to mlpipe.yaml; default DefaultRegistryStore, .mlpipe/registry beside the spec). The generated
	// Pipeline takes it as its model-store param.
	Store string `yaml:"store,omitempty"`
	// ModelName names the model in the registry (default: metadata.name).
	ModelName string `yaml:"modelName,omitempty"`
}

// Deploy configures serving: exactly one target, kserve or kubernetes.
type Deploy struct {
	// KServe serves the model as a KServe InferenceService.
	KServe *KServe `yaml:"kserve,omitempty"`
	// Kubernetes serves the model as a plain Deployment and Service, for clusters without KServe.
	Kubernetes *Kubernetes `yaml:"kubernetes,omitempty"`
}

// KServe names the InferenceService that serves the model.
type KServe struct {
	Name                 string `yaml:"name"`
	Namespace            string `yaml:"namespace,omitempty"`
	CanaryTrafficPercent *int   `yaml:"canaryTrafficPercent,omitempty"`
}

// Kubernetes names the Deployment and the Service (both called Name) that serve the model.
type Kubernetes struct {
	Name      string `yaml:"name"`
	Namespace string `yaml:"namespace,omitempty"`
	// Replicas is the number of predictor Pods (default 1).
	Replicas *int `yaml:"replicas,omitempty"`
	// Resources sets the predictor container's requests and limits.
	Resources *Resources `yaml:"resources,omitempty"`
}

// Alert configures where alerts go.
type Alert struct {
	Webhook *Webhook `yaml:"webhook"`
}

// Webhook reads its URL from a Secret, never from a param.
type Webhook struct {
	SecretRef *SecretKeyRef `yaml:"secretRef"`
}

// SecretKeyRef names one key of a Secret.
type SecretKeyRef struct {
	Name string `yaml:"name"`
	Key  string `yaml:"key"`
}

// Triggers start the pipeline in a cluster.
type Triggers struct {
	Schedule *Schedule  `yaml:"schedule,omitempty"`
	S3       *S3Trigger `yaml:"s3,omitempty"`
}

// Schedule starts a run on every cron slot.
type Schedule struct {
	// Cron is a 5-field cron expression, an @-macro (@daily) or "@every <duration>" (whole minutes).
	Cron                    string `yaml:"cron"`
	TimeZone                string `yaml:"timeZone,omitempty"`
	ConcurrencyPolicy       string `yaml:"concurrencyPolicy,omitempty"`
	StartingDeadlineSeconds *int64 `yaml:"startingDeadlineSeconds,omitempty"`
	Suspend                 bool   `yaml:"suspend,omitempty"`
}

// S3Trigger starts a run for every new object that matches.
type S3Trigger struct {
	Bucket            string   `yaml:"bucket"`
	Prefix            string   `yaml:"prefix,omitempty"`
	Suffix            string   `yaml:"suffix,omitempty"`
	Events            []string `yaml:"events,omitempty"`
	ConcurrencyPolicy string   `yaml:"concurrencyPolicy,omitempty"`
	// Marker waits for an object with this base name (e.g. _SUCCESS) before starting.
	Marker string `yaml:"marker,omitempty"`
}

// Workspace sizes the artifacts workspace.
type Workspace struct {
	Size         string `yaml:"size,omitempty"`
	StorageClass string `yaml:"storageClassName,omitempty"`
}

// Position is a 1-based line and column in the spec file.
type Position struct {
	Line, Column int
}
