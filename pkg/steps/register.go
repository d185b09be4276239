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
	"errors"
	"fmt"
	"io"
	"regexp"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mlpipe/mlpipe/pkg/ml"
	"github.com/mlpipe/mlpipe/pkg/store"
)

// RegisterOptions are the flags of `step register`.
type RegisterOptions struct {
	// Store is the URI of the model registry.
	Store string
	// ModelName is the registered model's name: <store>/<model-name>/v<N>/.
	ModelName string
	// Model is the URI of the model.json to register (or its directory).
	Model string
	// Metrics is the URI of the evaluate step's metrics.json.
	Metrics string
	// DatasetDigest is the digest of the training data.
	DatasetDigest string
	// Params are the pipeline parameters, as k=v.
	Params []string
	// PipelineRun is the name of the PipelineRun that produced the model.
	PipelineRun string
	// CodeVersion identifies the code that trained the model; defaults to the binary's VCS revision.
	CodeVersion string
	// ResultsDir receives the Tekton results.
	ResultsDir string
	// Now returns the registration time; nil means time.Now.
	Now func() time.Time
}

// Metadata is <store>/<model-name>/v<N>/metadata.json. A version is complete once its metadata.json exists.
type Metadata struct {
	// Name and Version identify the registered model.
	Name string `json:"name"`
	// Version is N in v<N>.
	Version int `json:"version"`
	// ModelURI is the registered model.json.
	ModelURI string `json:"modelUri"`
	// ModelDigest is the digest of model.json.
	ModelDigest string `json:"modelDigest"`
	// SourceModelURI is where the model was registered from.
	SourceModelURI string `json:"sourceModelUri"`
	// DatasetDigest is the digest of the training data.
	DatasetDigest string `json:"datasetDigest"`
	// Params are the pipeline parameters.
	Params map[string]string `json:"params"`
	// Metrics are the evaluation metrics.
	Metrics ml.Metrics `json:"metrics"`
	// MetricsURI is where the metrics were read from.
	MetricsURI string `json:"metricsUri"`
	// PipelineRun is the PipelineRun that produced the model.
	PipelineRun string `json:"pipelineRun"`
	// CodeVersion identifies the code.
	CodeVersion string `json:"codeVersion"`
	// CreatedAt is the registration time (UTC).
	CreatedAt time.Time `json:"createdAt"`
}

// ChampionPointer is <store>/<model-name>/champion: the alias naming the version to serve.
type ChampionPointer struct {
	// Name is the model name.
	Name string `json:"name"`
	// Version is the champion's version number.
	Version int `json:"version"`
	// ModelURI is the champion's model.json.
	ModelURI string `json:"modelUri"`
	// MetadataURI is the champion's metadata.json.
	MetadataURI string `json:"metadataUri"`
	// UpdatedAt is when the alias was moved.
	UpdatedAt time.Time `json:"updatedAt"`
}

// Registered is what a register run produced.
type Registered struct {
	// Metadata is the written metadata.json.
	Metadata *Metadata
	// Champion reports whether the champion alias now points at this version.
	Champion bool
	// Existing reports that the model's digest was already a version: Metadata is that version's, and nothing
	// new was written but the champion alias.
	Existing bool
}

var modelNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// maxRegisterAttempts bounds how many version numbers one register tries when others take them concurrently.
const maxRegisterAttempts = 1000

func newRegisterCommand() *cobra.Command {
	o := &RegisterOptions{}
	cmd := &cobra.Command{
		Use:   "register",
		Short: "Register a model as an immutable version (or answer the version that already holds it) and move the champion alias to it",
		Long: "Copies the model into <store>/<model-name>/v<N>/model.json with a metadata.json (data digest, params,\n" +
			"metrics, pipeline run, code version, time). N is claimed with an exclusive create, so concurrent registers\n" +
			"never share a version. A model whose digest is already a version is not registered again: that version is\n" +
			"the answer. Then moves <store>/<model-name>/champion to it (a new version loses it only to a newer one).\n" +
			"Results: model-version, model-uri.",
		Args: cobra.NoArgs,
	}
	cmd.Flags().StringVar(&o.Store, "store", "", "URI of the model registry")
	cmd.Flags().StringVar(&o.ModelName, "model-name", "", "model name")
	cmd.Flags().StringVar(&o.Model, "model", "", "URI of model.json (or its directory)")
	cmd.Flags().StringVar(&o.Metrics, "metrics", "", "URI of metrics.json from the evaluate step")
	cmd.Flags().StringVar(&o.DatasetDigest, "dataset-digest", "", "digest of the training dataset")
	cmd.Flags().StringArrayVar(&o.Params, "param", nil, "pipeline parameter k=v to record (repeatable)")
	cmd.Flags().StringVar(&o.PipelineRun, "pipeline-run", "", "name of the PipelineRun")
	cmd.Flags().StringVar(&o.CodeVersion, "code-version", "", "code version to record (default: the binary's VCS revision)")
	addResultsDirFlag(cmd, &o.ResultsDir)
	cmd.RunE = runE([]string{"store", "model-name", "model", "metrics"}, func(cmd *cobra.Command) error {
		r, err := Register(cmd.Context(), o, cmd.ErrOrStderr())
		if err != nil {
			return err
		}
		return writeResults(o.ResultsDir,
			result{"model-version", strconv.Itoa(r.Metadata.Version)},
			result{"model-uri", r.Metadata.ModelURI},
		)
	})
	return cmd
}

// codeVersion returns the VCS revision (with "-dirty" when modified) or module version of this binary.
func codeVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	rev, dirty := "", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev != "" {
		if dirty {
			rev += "-dirty"
		}
		return rev
	}
	if bi.Main.Version != "" {
		return bi.Main.Path + "@" + bi.Main.Version
	}
	return "unknown"
}

func parseParams(kvs []string) (map[string]string, error) {
	params := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("invalid --param %q: want key=value", kv)
		}
		params[strings.TrimSpace(k)] = v
	}
	return params, nil
}

// Register runs the register step.
func Register(ctx context.Context, o *RegisterOptions, log io.Writer) (*Registered, error) {
	if !modelNameRE.MatchString(o.ModelName) {
		return nil, fmt.Errorf("invalid --model-name %q: letters, digits, '.', '_' and '-', starting with a letter or digit", o.ModelName)
	}
	params, err := parseParams(o.Params)
	if err != nil {
		return nil, err
	}
	_, modelData, err := LoadModel(ctx, o.Model)
	if err != nil {
		return nil, err
	}
	metricsData, err := store.ReadURI(ctx, o.Metrics)
	if err != nil {
		return nil, fmt.Errorf("error reading --metrics: %w", err)
	}
	var report Report
	if err := json.Unmarshal(metricsData, &report); err != nil {
		return nil, fmt.Errorf("--metrics %s is not a metrics.json: %w", o.Metrics, err)
	}
	reg, err := store.Open(ctx, o.Store)
	if err != nil {
		return nil, fmt.Errorf("invalid --store: %w", err)
	}
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	cv := o.CodeVersion
	if cv == "" {
		cv = codeVersion()
	}

	digest := store.Digest(modelData)
	same, err := versionWithDigest(ctx, reg, o.ModelName, digest)
	if err != nil {
		return nil, err
	}
	var md *Metadata
	if same != nil {
		md = same
		fmt.Fprintf(log, "%s is already %s version %d (model digest %s): not registered again\n", modelFileURI(o.Model), o.ModelName, md.Version, digest)
	} else {
		md = &Metadata{
			Name:           o.ModelName,
			ModelDigest:    digest,
			SourceModelURI: modelFileURI(o.Model),
			DatasetDigest:  o.DatasetDigest,
			Params:         params,
			Metrics:        report.Metrics,
			MetricsURI:     o.Metrics,
			PipelineRun:    o.PipelineRun,
			CodeVersion:    cv,
			CreatedAt:      now().UTC(),
		}
		if err := createVersion(ctx, reg, md, modelData); err != nil {
			return nil, err
		}
		fmt.Fprintf(log, "registered %s version %d at %s\n", o.ModelName, md.Version, md.ModelURI)
	}
	n := md.Version

	r := &Registered{Metadata: md, Existing: same != nil}
	cur, err := readChampion(ctx, reg, o.ModelName)
	if err != nil {
		return nil, err
	}
	// A new version older than the champion lost a race with a concurrent register; an existing version is the
	// one this run's gate passed and deploys next, so the alias follows it.
	if !r.Existing && cur != nil && cur.Version > n {
		fmt.Fprintf(log, "champion stays at version %d (newer than %d)\n", cur.Version, n)
		return r, nil
	}
	if cur != nil && cur.Version == n {
		fmt.Fprintf(log, "champion is version %d already\n", n)
		r.Champion = true
		return r, nil
	}
	ptr := ChampionPointer{
		Name: o.ModelName, Version: n, ModelURI: md.ModelURI,
		MetadataURI: reg.URI(versionKey(o.ModelName, n, "metadata.json")), UpdatedAt: now().UTC(),
	}
	ptrData, err := json.MarshalIndent(ptr, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := reg.Put(ctx, o.ModelName+"/champion", ptrData); err != nil {
		return nil, fmt.Errorf("version %d is registered, but moving the champion alias failed: %w", n, err)
	}
	r.Champion = true
	fmt.Fprintf(log, "champion -> version %d\n", n)
	return r, nil
}

// versionWithDigest returns the metadata of the newest complete version of name whose model digest is digest,
// or nil when no version holds that model.
func versionWithDigest(ctx context.Context, reg store.Store, name, digest string) (*Metadata, error) {
	vs, err := Versions(ctx, reg, name)
	if err != nil {
		return nil, fmt.Errorf("error listing versions in the registry: %w", err)
	}
	for i := len(vs) - 1; i >= 0; i-- {
		md, err := readMetadata(ctx, reg, name, vs[i])
		if err != nil {
			return nil, err
		}
		if md.ModelDigest == digest {
			return md, nil
		}
	}
	return nil, nil
}

// createVersion claims the next free version number for md.Name with an exclusive create of its model.json, then
// writes its metadata.json (which completes it), and sets md.Version and md.ModelURI. A failed metadata write
// releases the claimed number.
func createVersion(ctx context.Context, reg store.Store, md *Metadata, modelData []byte) error {
	existing, err := reg.List(ctx, md.Name+"/")
	if err != nil {
		return fmt.Errorf("error listing versions in the registry: %w", err)
	}
	n := maxVersion(md.Name, existing) + 1
	for attempt := 0; ; attempt++ {
		if attempt == maxRegisterAttempts {
			return fmt.Errorf("gave up after %d version numbers were taken concurrently", maxRegisterAttempts)
		}
		err := reg.Create(ctx, versionKey(md.Name, n, "model.json"), modelData)
		if errors.Is(err, store.ErrExist) {
			n++
			continue
		}
		if err != nil {
			return fmt.Errorf("error writing the model version: %w", err)
		}
		break
	}
	md.Version, md.ModelURI = n, reg.URI(versionKey(md.Name, n, "model.json"))
	mdData, err := json.MarshalIndent(md, "", "  ")
	if err == nil {
		err = reg.Create(ctx, versionKey(md.Name, n, "metadata.json"), mdData)
	}
	if err != nil {
		// Release the claimed version so that no half-registered version remains.
		_ = reg.Delete(context.WithoutCancel(ctx), versionKey(md.Name, n, "model.json"))
		return fmt.Errorf("error writing metadata of v%d: %w", n, err)
	}
	return nil
}

func versionKey(name string, n int, file string) string {
	return fmt.Sprintf("%s/v%d/%s", name, n, file)
}

// maxVersion returns the highest N among keys "<name>/v<N>/...", or 0.
func maxVersion(name string, keys []string) int {
	highest := 0
	for _, k := range keys {
		rest, ok := strings.CutPrefix(k, name+"/v")
		if !ok {
			continue
		}
		num, _, ok := strings.Cut(rest, "/")
		if !ok {
			continue
		}
		if n, err := strconv.Atoi(num); err == nil && n > highest {
			highest = n
		}
	}
	return highest
}

// Versions lists the complete (metadata.json present) version numbers of a model, ascending.
func Versions(ctx context.Context, reg store.Store, name string) ([]int, error) {
	keys, err := reg.List(ctx, name+"/v")
	if err != nil {
		return nil, err
	}
	var vs []int
	for _, k := range keys {
		rest, ok := strings.CutPrefix(k, name+"/v")
		if !ok || !strings.HasSuffix(rest, "/metadata.json") {
			continue
		}
		if n, err := strconv.Atoi(strings.TrimSuffix(rest, "/metadata.json")); err == nil {
			vs = append(vs, n)
		}
	}
	sort.Ints(vs)
	return vs, nil
}

// readChampion returns the champion pointer of a model, or nil when there is none.
func readChampion(ctx context.Context, reg store.Store, name string) (*ChampionPointer, error) {
	data, err := reg.Get(ctx, name+"/champion")
	if errors.Is(err, store.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("error reading the champion alias: %w", err)
	}
	p := &ChampionPointer{}
	if err := json.Unmarshal(data, p); err != nil {
		return nil, fmt.Errorf("champion alias %s is not valid JSON: %w", reg.URI(name+"/champion"), err)
	}
	return p, nil
}

// readMetadata reads one version's metadata.json.
func readMetadata(ctx context.Context, reg store.Store, name string, version int) (*Metadata, error) {
	data, err := reg.Get(ctx, versionKey(name, version, "metadata.json"))
	if err != nil {
		return nil, fmt.Errorf("error reading metadata of %s v%d: %w", name, version, err)
	}
	md := &Metadata{}
	if err := json.Unmarshal(data, md); err != nil {
		return nil, fmt.Errorf("metadata of %s v%d is not valid JSON: %w", name, version, err)
	}
	return md, nil
}
