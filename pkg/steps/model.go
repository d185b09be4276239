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

package steps

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/mlpipe/mlpipe/pkg/ml"
	"github.com/mlpipe/mlpipe/pkg/store"
)

// modelFileURI maps a model URI to the model.json object: a URI ending in ".json" names the file itself, anything
// else names the directory holding model.json.
func modelFileURI(uri string) string {
	if strings.HasSuffix(uri, ".json") {
		return uri
	}
	return store.Join(uri, "model.json")
}

// ModelRef is what a model URI leads to.
type ModelRef struct {
	// URI is the model.json to read.
	URI string
	// Version is the registry version ("3") when the URI names a registry's champion alias or one of its
	// versions (<registry>/<name>/v3, whose metadata.json exists), else "".
	Version string
}

// championAlias is the base name of a registry's alias object: <registry>/<name>/champion (register.go).
const championAlias = "champion"

// registryVersionRE matches the model.json of a registry version: .../v<N>/model.json.
var registryVersionRE = regexp.MustCompile(`/v([0-9]+)/model\.json$`)

// ResolveModel maps a model URI to the model.json it names: a model.json, the directory holding one, or a
// registry's champion alias (<registry>/<name>/champion), which leads to <registry>/<name>/v<N>/model.json of
// the version it points at.
func ResolveModel(ctx context.Context, uri string) (ModelRef, error) {
	trimmed := strings.TrimRight(uri, "/")
	if parent, base, err := store.Split(trimmed); err == nil && base == championAlias {
		data, err := store.ReadURI(ctx, trimmed)
		if err == nil {
			var ptr ChampionPointer
			if err := json.Unmarshal(data, &ptr); err != nil || ptr.Version < 1 {
				return ModelRef{}, fmt.Errorf("%s is not a champion alias (a JSON object with the version it points at): %v", trimmed, err)
			}
			return ModelRef{URI: store.Join(parent, fmt.Sprintf("v%d/model.json", ptr.Version)), Version: strconv.Itoa(ptr.Version)}, nil
		}
		// Not readable as an object: a directory named "champion" holding a model.json.
	}
	ref := ModelRef{URI: modelFileURI(uri)}
	if m := registryVersionRE.FindStringSubmatch(ref.URI); m != nil {
		if _, err := store.ReadURI(ctx, strings.TrimSuffix(ref.URI, "model.json")+"metadata.json"); err == nil {
			ref.Version = m[1]
		}
	}
	return ref, nil
}

// LoadModel reads and validates the model at uri (a model.json file, the directory holding one, or a registry's
// champion alias: ResolveModel).
func LoadModel(ctx context.Context, uri string) (*ml.Model, []byte, error) {
	ref, err := ResolveModel(ctx, uri)
	if err != nil {
		return nil, nil, err
	}
	return readModel(ctx, ref)
}

// readModel reads and validates the model.json ref leads to.
func readModel(ctx context.Context, ref ModelRef) (*ml.Model, []byte, error) {
	data, err := store.ReadURI(ctx, ref.URI)
	if err != nil {
		return nil, nil, fmt.Errorf("error reading model: %w", err)
	}
	m := &ml.Model{}
	if err := json.Unmarshal(data, m); err != nil {
		return nil, nil, fmt.Errorf("model %s is not valid JSON: %w", ref.URI, err)
	}
	if err := m.Validate(); err != nil {
		return nil, nil, fmt.Errorf("invalid model %s: %w", ref.URI, err)
	}
	return m, data, nil
}
