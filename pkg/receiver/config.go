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
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/mlpipe/mlpipe/pkg/events"
	"github.com/mlpipe/mlpipe/pkg/events/engine"
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
	// They are read for every request, so a rotated Secret applies as soon as the kubelet updates the mounted
	// file (not with a subPath mount, which the kubelet never updates).
	TokenFile   string `json:"tokenFile,omitempty"`
	HMACKeyFile string `json:"hmacKeyFile,omitempty"`
	// QuietWindow coalesces bursts (Go duration, at most 2.5 s: engine.MaxQuietWindow): an object starts a run
	// only if no newer matching object for the same namespace and pipeline arrives within it.
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
		pol, err := policy.Parse(rc.ConcurrencyPolicy)
		if err != nil {
			return nil, fmt.Errorf("%s.concurrencyPolicy: %w", where, err)
		}
		window, err := engine.ParseQuietWindow(rc.QuietWindow)
		if err != nil {
			return nil, fmt.Errorf("%s.%w", where, err)
		}
		if rc.TokenFile == "" && rc.HMACKeyFile == "" {
			return nil, fmt.Errorf("%s: tokenFile or hmacKeyFile is required (unauthenticated notifications are refused)", where)
		}
		creds := &FileCredentials{TokenFile: rel(rc.TokenFile), HMACKeyFile: rel(rc.HMACKeyFile)}
		if _, err := creds.Auth(context.Background()); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		r := &Route{Target: engine.Target{
			Namespace: rc.Namespace, Pipeline: rc.Pipeline, Filter: rc.Filter, Policy: pol, QuietWindow: window, Credentials: creds,
		}}
		if err := r.Target.Validate(); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
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

// FileCredentials reads the bearer token and the HMAC key from files (a mounted Secret) for every request.
type FileCredentials struct {
	// TokenFile and HMACKeyFile are the files; empty: not used.
	TokenFile, HMACKeyFile string
}

// Auth implements engine.Credentials.
func (c *FileCredentials) Auth(context.Context) (*events.Auth, error) {
	a := &events.Auth{}
	var err error
	if a.Token, err = readSecretFile(c.TokenFile); err != nil {
		return nil, fmt.Errorf("tokenFile: %w", err)
	}
	if a.HMACKey, err = readSecretFile(c.HMACKeyFile); err != nil {
		return nil, fmt.Errorf("hmacKeyFile: %w", err)
	}
	return a, nil
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
