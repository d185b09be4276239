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

package receiver

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mlpipe/mlpipe/pkg/events"
	"github.com/mlpipe/mlpipe/pkg/policy"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"sigs.k8s.io/yaml"
)

// Config is the receiver's configuration file: one entry per URL path.
type Config struct {
	Routes []RouteConfig `json:"routes"`
}

// RouteConfig configures one Route.
type RouteConfig struct {
	// Path is the URL path MinIO or the relay posts to, e.g. /churn.
	Path      string `json:"path"`
	Namespace string `json:"namespace"`
	Pipeline  string `json:"pipeline"`
	// PipelineRunTemplate is a PipelineRun YAML file (the generated pipelinerun.yaml) used as the template.
	PipelineRunTemplate string        `json:"pipelineRunTemplate,omitempty"`
	Filter              events.Filter `json:"filter"`
	ConcurrencyPolicy   string        `json:"concurrencyPolicy,omitempty"`
	// TokenFile and HMACKeyFile are files (mounted from a Secret) holding the bearer token and the HMAC key.
	TokenFile   string `json:"tokenFile,omitempty"`
	HMACKeyFile string `json:"hmacKeyFile,omitempty"`
	// QuietWindow coalesces bursts (Go duration); keep it below the sender's timeout.
	QuietWindow string `json:"quietWindow,omitempty"`
}

// LoadConfig reads a Config file and builds its routes; relative paths are relative to the file.
func LoadConfig(path string) (map[string]*Route, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("error reading the receiver config: %w", err)
	}
	var c Config
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c.Build(filepath.Dir(path))
}

// Build turns the configuration into routes.
func (c *Config) Build(dir string) (map[string]*Route, error) {
	if len(c.Routes) == 0 {
		return nil, fmt.Errorf("no routes configured")
	}
	rel := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	routes := map[string]*Route{}
	for i, rc := range c.Routes {
		where := fmt.Sprintf("routes[%d]", i)
		if !strings.HasPrefix(rc.Path, "/") {
			return nil, fmt.Errorf("%s.path %q must start with /", where, rc.Path)
		}
		if routes[rc.Path] != nil {
			return nil, fmt.Errorf("%s.path %q is used twice", where, rc.Path)
		}
		if rc.Namespace == "" || rc.Pipeline == "" {
			return nil, fmt.Errorf("%s: namespace and pipeline are required", where)
		}
		if err := rc.Filter.Validate(); err != nil {
			return nil, fmt.Errorf("%s.filter: %w", where, err)
		}
		pol, err := policy.Parse(rc.ConcurrencyPolicy)
		if err != nil {
			return nil, fmt.Errorf("%s.concurrencyPolicy: %w", where, err)
		}
		r := &Route{Namespace: rc.Namespace, Pipeline: rc.Pipeline, Filter: rc.Filter, Policy: pol}
		if r.Auth.Token, err = readSecretFile(rel(rc.TokenFile)); err != nil {
			return nil, fmt.Errorf("%s.tokenFile: %w", where, err)
		}
		if r.Auth.HMACKey, err = readSecretFile(rel(rc.HMACKeyFile)); err != nil {
			return nil, fmt.Errorf("%s.hmacKeyFile: %w", where, err)
		}
		if len(r.Auth.Token) == 0 && len(r.Auth.HMACKey) == 0 {
			return nil, fmt.Errorf("%s: tokenFile or hmacKeyFile is required (unauthenticated notifications are refused)", where)
		}
		if rc.QuietWindow != "" {
			d, err := time.ParseDuration(rc.QuietWindow)
			if err != nil || d < 0 {
				return nil, fmt.Errorf("%s.quietWindow %q: want a Go duration", where, rc.QuietWindow)
			}
			r.Coalescer = &events.Coalescer{Window: d}
		}
		if rc.PipelineRunTemplate != "" {
			data, err := os.ReadFile(rel(rc.PipelineRunTemplate))
			if err != nil {
				return nil, fmt.Errorf("%s.pipelineRunTemplate: %w", where, err)
			}
			pr := &v1.PipelineRun{}
			if err := yaml.UnmarshalStrict(data, pr); err != nil {
				return nil, fmt.Errorf("%s.pipelineRunTemplate %s: %w", where, rc.PipelineRunTemplate, err)
			}
			if pr.Spec.PipelineRef == nil || pr.Spec.PipelineRef.Name != rc.Pipeline {
				return nil, fmt.Errorf("%s.pipelineRunTemplate %s: its pipelineRef must name %q", where, rc.PipelineRunTemplate, rc.Pipeline)
			}
			r.Template = pr
		}
		routes[rc.Path] = r
	}
	return routes, nil
}

func readSecretFile(path string) ([]byte, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, fmt.Errorf("%s is empty", path)
	}
	return data, nil
}
