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

package cache

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"time"
)

// The environment of a built-in step in a Pod (set by the generator, see templates/_helpers.yaml.tmpl).
const (
	// EnvStore is the cache's store URI (file:// or s3://); unset or empty means the cache is off.
	EnvStore = "MLPIPE_CACHE_STORE"
	// EnvMaxAge is the maximum age of an entry that may be reused (a Go duration; empty or 0 means no limit).
	EnvMaxAge = "MLPIPE_CACHE_MAX_AGE"
	// EnvTask is the Task's digest, the "task" component (see pkg/cache/taskdigest).
	EnvTask = "MLPIPE_CACHE_TASK"
	// EnvEnabled is the run's switch: "false" turns the cache off (the Pipeline param cache).
	EnvEnabled = "MLPIPE_CACHE"
	// EnvSkip lists pipeline task names, separated by commas or spaces, that run uncached (the Pipeline param
	// cache-skip).
	EnvSkip = "MLPIPE_CACHE_SKIP"
	// EnvPipelineTask, EnvPipeline and EnvPipelineRun name where the step runs (from the Pod's tekton.dev/*
	// labels): for cache-skip and the records that explain reads.
	EnvPipelineTask = "MLPIPE_CACHE_PIPELINE_TASK"
	EnvPipeline     = "MLPIPE_CACHE_PIPELINE"
	EnvPipelineRun  = "MLPIPE_CACHE_PIPELINE_RUN"
	// EnvParams lists the Task's string params, separated by commas; the value of each is in
	// ParamEnv(name).
	EnvParams = "MLPIPE_CACHE_PARAMS"
	// EnvWorkspaces lists the Task's workspaces as name=path, separated by newlines.
	EnvWorkspaces = "MLPIPE_CACHE_WORKSPACES"
)

// The cache's own params on the Pipeline and on each cached Task. They are not key components.
const (
	// ParamEnabled is "false" to run without the cache.
	ParamEnabled = "cache"
	// ParamSkip lists pipeline tasks to run uncached.
	ParamSkip = "cache-skip"
)

// The results every cached Task declares.
const (
	// ResultCache is "hit", "miss" or "off".
	ResultCache = "cache"
	// ResultKey is the key ("" when off).
	ResultKey = "cache-key"
)

// Decisions, the values of ResultCache.
const (
	Hit  = "hit"
	Miss = "miss"
	Off  = "off"
)

// IsOwnParam reports whether name is one of the cache's own params.
func IsOwnParam(name string) bool { return name == ParamEnabled || name == ParamSkip }

// IsOwnEnv reports whether an env var is one of the cache's own (left out of the Task's digest).
func IsOwnEnv(name string) bool { return strings.HasPrefix(name, "MLPIPE_CACHE") }

// ParamEnv is the env var that carries param name's value: MLPIPE_CACHE_PARAM_<NAME_UPPER_SNAKE>.
func ParamEnv(name string) string {
	return "MLPIPE_CACHE_PARAM_" + strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(name))
}

// Skipped reports whether the pipeline task is named in a cache-skip list.
func Skipped(skip, pipelineTask string) bool {
	return pipelineTask != "" && slices.Contains(strings.FieldsFunc(skip, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\n' || r == '\t'
	}), pipelineTask)
}

// ParseMaxAge parses a max age: "" or "0" means no limit.
func ParseMaxAge(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "0" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("invalid cache max age %q (want a duration such as 720h)", s)
	}
	return d, nil
}

// Env is a step's cache configuration, read from its environment.
type Env struct {
	Store                       string
	MaxAge                      time.Duration
	Task                        string
	Disabled                    string // why the cache is off for this task; "" when on
	PipelineTask, Pipeline, Run string
	Params                      map[string]string
	Workspaces                  map[string]string
}

// EnvFrom reads the cache configuration from getenv (nil: os.Getenv).
func EnvFrom(getenv func(string) string) (Env, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	e := Env{
		Store: strings.TrimSpace(getenv(EnvStore)), Task: getenv(EnvTask),
		PipelineTask: getenv(EnvPipelineTask), Pipeline: getenv(EnvPipeline), Run: getenv(EnvPipelineRun),
		Params: map[string]string{}, Workspaces: map[string]string{},
	}
	maxAge, err := ParseMaxAge(getenv(EnvMaxAge))
	if err != nil {
		return e, fmt.Errorf("%s: %w", EnvMaxAge, err)
	}
	e.MaxAge = maxAge
	for _, name := range strings.Split(getenv(EnvParams), ",") {
		if name = strings.TrimSpace(name); name != "" {
			e.Params[name] = getenv(ParamEnv(name))
		}
	}
	for _, line := range strings.Split(getenv(EnvWorkspaces), "\n") {
		if name, path, ok := strings.Cut(strings.TrimSpace(line), "="); ok && name != "" && path != "" {
			e.Workspaces[name] = path
		}
	}
	switch {
	case e.Store == "":
		e.Disabled = "no cache store configured (" + EnvStore + " is empty)"
	case strings.EqualFold(strings.TrimSpace(getenv(EnvEnabled)), "false"):
		e.Disabled = "the cache is off for this run (param " + ParamEnabled + "=false)"
	case Skipped(getenv(EnvSkip), e.PipelineTask):
		e.Disabled = "task " + e.PipelineTask + " is in the run's " + ParamSkip + " list"
	case e.Task == "":
		e.Disabled = "the Task carries no digest (" + EnvTask + " is empty)"
	}
	return e, nil
}

// CachedStep reports whether the cache may skip a built-in step: preprocess, train and evaluate, whose outputs
// are their --out location and their results. register, deploy, alert and serve act on the world.
func CachedStep(step string) bool {
	return step == "preprocess" || step == "train" || step == "evaluate"
}
