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
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mlpipe/mlpipe/pkg/store"
)

// modelVariants writes n models that differ from the one at model only in their recorded seed (so in their
// digest) and returns their paths.
func modelVariants(t *testing.T, n int, model string) []string {
	t.Helper()
	m, _, err := LoadModel(context.Background(), model)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	paths := make([]string, n)
	for i := range paths {
		m.Training.Seed = int64(1000 + i)
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		paths[i] = filepath.Join(dir, fmt.Sprintf("model-%d.json", i))
		if err := os.WriteFile(paths[i], b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return paths
}

// registerConcurrently runs n registers of n different models at once and returns the versions they got.
func registerConcurrently(t *testing.T, n int, storeURI, model, metrics string) []int {
	t.Helper()
	models := modelVariants(t, n, model)
	var wg sync.WaitGroup
	versions := make([]int, n)
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r, err := Register(context.Background(), &RegisterOptions{
				Store: storeURI, ModelName: "churn", Model: models[i], Metrics: metrics,
				DatasetDigest: "sha256:d", PipelineRun: fmt.Sprintf("run-%d", i), Params: []string{"i=" + strconv.Itoa(i)},
			}, io.Discard)
			errs[i] = err
			if err == nil {
				versions[i] = r.Metadata.Version
			}
		}(i)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("register %d: %v", i, err)
		}
	}
	sort.Ints(versions)
	return versions
}

// checkRegistry checks that versions 1..n are complete, distinct, and that the champion is the highest.
func checkRegistry(t *testing.T, storeURI string, n int) {
	t.Helper()
	ctx := context.Background()
	reg, err := store.Open(ctx, storeURI)
	if err != nil {
		t.Fatal(err)
	}
	vs, err := Versions(ctx, reg, "churn")
	if err != nil {
		t.Fatal(err)
	}
	want := make([]int, n)
	runs := map[string]bool{}
	for i := range want {
		want[i] = i + 1
		md, err := readMetadata(ctx, reg, "churn", i+1)
		if err != nil {
			t.Fatal(err)
		}
		if md.Version != i+1 || runs[md.PipelineRun] {
			t.Errorf("v%d metadata: version %d, run %q (seen: %v)", i+1, md.Version, md.PipelineRun, runs[md.PipelineRun])
		}
		runs[md.PipelineRun] = true
	}
	if diff := cmp.Diff(want, vs); diff != "" {
		t.Errorf("complete versions (-want +got):\n%s", diff)
	}
	champ, err := readChampion(ctx, reg, "churn")
	if err != nil || champ == nil {
		t.Fatalf("champion: %v %v", champ, err)
	}
	if champ.Version < 1 || champ.Version > n {
		t.Errorf("champion version %d out of range", champ.Version)
	}
}

// TestConcurrentRegisterFile registers eight times at once into a file:// store: eight distinct versions.
func TestConcurrentRegisterFile(t *testing.T) {
	ds, model := preparedDataset(t)
	ev := mustRun(t, "evaluate", "--dataset", ds, "--model", model, "--threshold", "0", "--out", t.TempDir())
	storeURI := "file://" + filepath.Join(t.TempDir(), "registry")
	got := registerConcurrently(t, 8, storeURI, model, ev.results["metrics-uri"])
	if diff := cmp.Diff([]int{1, 2, 3, 4, 5, 6, 7, 8}, got); diff != "" {
		t.Errorf("versions (-want +got):\n%s", diff)
	}
	checkRegistry(t, storeURI, 8)
	// Registered versions are immutable: a ninth model gets v9 and leaves v1..v8 alone.
	r := mustRun(t, "register", "--store", storeURI, "--model-name", "churn", "--model", model, "--metrics", ev.results["metrics-uri"])
	if r.results["model-version"] != "9" {
		t.Errorf("ninth register got version %q", r.results["model-version"])
	}
}

// TestRegisterSameModelAnswersItsVersion: registering a model whose digest is already a version answers that
// version (results and metadata), writes no new one, and moves the champion alias to it: it is the model the run
// deploys.
func TestRegisterSameModelAnswersItsVersion(t *testing.T) {
	ds, model := preparedDataset(t)
	ev := mustRun(t, "evaluate", "--dataset", ds, "--model", model, "--threshold", "0", "--out", t.TempDir())
	storeURI := "file://" + filepath.Join(t.TempDir(), "registry")
	models := modelVariants(t, 2, model)
	a, b := models[0], models[1]
	type got struct {
		Version, Champion string
		Versions          []int
	}
	register := func(m, run string) got {
		t.Helper()
		r := mustRun(t, "register", "--store", storeURI, "--model-name", "churn", "--model", m, "--metrics", ev.results["metrics-uri"], "--pipeline-run", run)
		ctx := context.Background()
		reg, err := store.Open(ctx, storeURI)
		if err != nil {
			t.Fatal(err)
		}
		vs, err := Versions(ctx, reg, "churn")
		if err != nil {
			t.Fatal(err)
		}
		champ, err := readChampion(ctx, reg, "churn")
		if err != nil {
			t.Fatal(err)
		}
		return got{Version: r.results["model-version"], Champion: strconv.Itoa(champ.Version), Versions: vs}
	}
	tests := []struct {
		name, model, run string
		want             got
	}{
		{"first model", a, "run-1", got{"1", "1", []int{1}}},
		{"same model again", a, "run-2", got{"1", "1", []int{1}}},
		{"another model", b, "run-3", got{"2", "2", []int{1, 2}}},
		{"the first model again: the champion moves back to it", a, "run-4", got{"1", "1", []int{1, 2}}},
		{"the second model again", b, "run-5", got{"2", "2", []int{1, 2}}},
		{"the champion's model again", b, "run-6", got{"2", "2", []int{1, 2}}},
	}
	for _, tt := range tests { // in order: each register sees the registry the earlier ones left
		if d := cmp.Diff(tt.want, register(tt.model, tt.run)); d != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, d)
		}
	}
	reg, err := store.Open(context.Background(), storeURI)
	if err != nil {
		t.Fatal(err)
	}
	md, err := readMetadata(context.Background(), reg, "churn", 1)
	if err != nil {
		t.Fatal(err)
	}
	if md.PipelineRun != "run-1" {
		t.Errorf("v1's metadata was rewritten: pipelineRun %q, want run-1", md.PipelineRun)
	}
}
