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
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mlpipe/mlpipe/pkg/cache"
	"github.com/mlpipe/mlpipe/pkg/store"
	"github.com/mlpipe/mlpipe/pkg/store/storetest"
)

// podEnv sets the cache environment the generator gives a step in a Pod, for pipeline task task of run run
// with its artifacts workspace at ws.
func podEnv(t *testing.T, storeURI, ws, run, task string, params map[string]string) {
	t.Helper()
	t.Setenv(cache.EnvStore, storeURI)
	t.Setenv(cache.EnvTask, "sha256:task-"+task)
	t.Setenv(cache.EnvPipeline, "churn")
	t.Setenv(cache.EnvPipelineRun, run)
	t.Setenv(cache.EnvPipelineTask, task)
	t.Setenv(cache.EnvWorkspaces, "artifacts="+ws)
	t.Setenv(cache.EnvEnabled, "true")
	t.Setenv(cache.EnvSkip, "")
	var names []string
	for name, v := range params {
		names = append(names, name)
		t.Setenv(cache.ParamEnv(name), v)
	}
	t.Setenv(cache.EnvParams, strings.Join(names, ","))
}

func TestStepCacheFileStore(t *testing.T) {
	testStepCache(t, "file://"+filepath.Join(t.TempDir(), "cache"))
}

func TestStepCacheMinIO(t *testing.T) {
	m := storetest.Start(t)
	m.SetEnv(t)
	m.MakeBucket(t, "mlpipe-cache")
	testStepCache(t, "s3://mlpipe-cache/cache")
}

// testStepCache: preprocess and train in one workspace miss and store; the same steps in a fresh workspace (a
// resumed run's new volume) hit, restore the same files and results pointing into the new workspace, and skip
// the work; a changed param misses; a blob deleted from the store is a miss and the step runs; cache=false and
// cache-skip turn the cache off.
func testStepCache(t *testing.T, storeURI string) {
	data := repoFile(t, "examples/data/churn.csv")
	ws1, ws2 := t.TempDir(), t.TempDir()
	preprocess := func(ws, run string) stepRun {
		t.Helper()
		podEnv(t, storeURI, ws, run, "preprocess", map[string]string{"data": data, "label": "churned"})
		return mustRun(t, "preprocess", "--data", data, "--label", "churned", "--out", filepath.Join(ws, "dataset"))
	}
	train := func(ws, run, epochs string) stepRun {
		t.Helper()
		ds := filepath.Join(ws, "dataset")
		podEnv(t, storeURI, ws, run, "train", map[string]string{"dataset-uri": ds, "epochs": epochs})
		return mustRun(t, "train", "--dataset", ds, "--epochs", epochs, "--out", filepath.Join(ws, "model"))
	}

	cold := preprocess(ws1, "run-1")
	if cold.results[cache.ResultCache] != cache.Miss || len(cold.results[cache.ResultKey]) != 64 {
		t.Fatalf("cold preprocess results = %v, want cache=miss and a key", cold.results)
	}
	warm := preprocess(ws2, "run-2")
	if warm.results[cache.ResultCache] != cache.Hit || warm.results[cache.ResultKey] != cold.results[cache.ResultKey] {
		t.Fatalf("warm preprocess results = %v, want a hit on key %s", warm.results, cold.results[cache.ResultKey])
	}
	if want := "cache hit " + cold.results[cache.ResultKey] + " from run-1/preprocess (restored 3 files in "; !strings.Contains(warm.stderr, want) {
		t.Errorf("warm preprocess log does not say %q:\n%s", want, warm.stderr)
	}
	if want := "file://" + filepath.Join(ws2, "dataset"); warm.results["dataset-uri"] != want {
		t.Errorf("restored dataset-uri = %q, want %q (pointing into the new workspace)", warm.results["dataset-uri"], want)
	}
	for _, r := range []string{"dataset-digest", "rows", "dropped-rows"} {
		if warm.results[r] != cold.results[r] {
			t.Errorf("restored result %s = %q, want %q", r, warm.results[r], cold.results[r])
		}
	}
	if diff := cmp.Diff(readTree(t, filepath.Join(ws1, "dataset")), readTree(t, filepath.Join(ws2, "dataset"))); diff != "" {
		t.Errorf("restored dataset differs from the computed one (-computed +restored):\n%s", diff)
	}

	t1 := train(ws1, "run-1", "20")
	if t1.results[cache.ResultCache] != cache.Miss || !strings.Contains(t1.stderr, "epoch 20/20") {
		t.Fatalf("cold train: %v\n%s", t1.results, t1.stderr)
	}
	t2 := train(ws2, "run-2", "20")
	if t2.results[cache.ResultCache] != cache.Hit || strings.Contains(t2.stderr, "epoch 1/") {
		t.Errorf("train on a restored identical dataset: %v (want a hit that does not train)\n%s", t2.results, t2.stderr)
	}
	if t2.results["model-digest"] != t1.results["model-digest"] {
		t.Errorf("restored model-digest = %q, want %q", t2.results["model-digest"], t1.results["model-digest"])
	}
	t3 := train(ws2, "run-3", "10")
	if t3.results[cache.ResultCache] != cache.Miss || !strings.Contains(t3.stderr, "epoch 10/10") {
		t.Errorf("train with other epochs: %v, want a miss that trains\n%s", t3.results, t3.stderr)
	}

	// Delete every stored blob behind mlpipe's back: the next lookup is a miss and the step computes.
	deleteBlobs(t, storeURI)
	gone := preprocess(t.TempDir(), "run-4")
	if gone.results[cache.ResultCache] != cache.Miss || !strings.Contains(gone.stderr, "is gone from the store") {
		t.Errorf("preprocess after its blobs were deleted: %v, want a miss naming the missing copy\n%s", gone.results, gone.stderr)
	}
	if gone.results["rows"] != cold.results["rows"] {
		t.Errorf("recomputed rows = %q, want %q", gone.results["rows"], cold.results["rows"])
	}

	podEnv(t, storeURI, ws1, "run-5", "train", map[string]string{"dataset-uri": filepath.Join(ws1, "dataset"), "epochs": "20"})
	t.Setenv(cache.EnvSkip, "evaluate, train")
	skipped := mustRun(t, "train", "--dataset", filepath.Join(ws1, "dataset"), "--epochs", "20", "--out", filepath.Join(ws1, "model"))
	if skipped.results[cache.ResultCache] != cache.Off || !strings.Contains(skipped.stderr, "in the run's cache-skip list") || !strings.Contains(skipped.stderr, "epoch 20/20") {
		t.Errorf("train in cache-skip: %v\n%s", skipped.results, skipped.stderr)
	}
	t.Setenv(cache.EnvSkip, "")
	t.Setenv(cache.EnvEnabled, "false")
	off := mustRun(t, "train", "--dataset", filepath.Join(ws1, "dataset"), "--epochs", "20", "--out", filepath.Join(ws1, "model"))
	if off.results[cache.ResultCache] != cache.Off || off.results[cache.ResultKey] != "" || !strings.Contains(off.stderr, "epoch 20/20") {
		t.Errorf("train with cache=false: %v\n%s", off.results, off.stderr)
	}
}

// deleteBlobs deletes every blob under the cache store, as someone cleaning the bucket by hand would.
func deleteBlobs(t *testing.T, storeURI string) {
	t.Helper()
	ctx := context.Background()
	s, err := store.Open(ctx, storeURI)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := s.List(ctx, "blobs/")
	if err != nil || len(keys) == 0 {
		t.Fatalf("blobs in %s: %v, %v", storeURI, keys, err)
	}
	for _, k := range keys {
		if err := s.Delete(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
}

// readTree maps each file under dir to its content.
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, rel := range filesUnder(t, dir) {
		b, err := os.ReadFile(filepath.Join(dir, rel))
		if err != nil {
			t.Fatal(err)
		}
		out[rel] = string(b)
	}
	return out
}

// TestUserStepCacheWrapper: cache check, the user's work, cache store around a user's step: the first task
// misses and stores the user's outputs and results; the same task in a fresh workspace hits and restores them;
// another image misses.
func TestUserStepCacheWrapper(t *testing.T) {
	storeURI := "file://" + filepath.Join(t.TempDir(), "cache")
	data := repoFile(t, "examples/data/churn.csv")
	task := func(ws, run, image string, work func(results string)) stepRun {
		t.Helper()
		podEnv(t, storeURI, ws, run, "train", map[string]string{"data": data, "epochs": "3"})
		results := t.TempDir()
		out := filepath.Join(ws, "model")
		run1 := func(args ...string) stepRun {
			t.Helper()
			cmd := NewStepsRoot()
			var errb strings.Builder
			cmd.SetErr(&errb)
			cmd.SetOut(&errb)
			cmd.SetArgs(append(args, "--results-dir", results))
			if err := cmd.ExecuteContext(context.Background()); err != nil {
				t.Fatalf("%v: %v\n%s", args, err, errb.String())
			}
			return stepRun{stderr: errb.String()}
		}
		check := run1("cache", "check", "--out", out, "--program", image)
		if b, _ := os.ReadFile(filepath.Join(results, cache.ResultCache)); string(b) != cache.Hit {
			work(results) // the user's step: it skips its work on a hit
		}
		store := run1("cache", "store", "--out", out)
		got := map[string]string{}
		entries, _ := os.ReadDir(results)
		for _, e := range entries {
			b, _ := os.ReadFile(filepath.Join(results, e.Name()))
			got[e.Name()] = string(b)
		}
		return stepRun{results: got, stderr: check.stderr + store.stderr}
	}
	worked := 0
	work := func(ws string) func(string) {
		return func(results string) {
			worked++
			if err := os.MkdirAll(filepath.Join(ws, "model"), 0o755); err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(ws, "model"), "weights.bin", []byte("w1"))
			writeFile(t, results, "model-uri", []byte("file://"+filepath.Join(ws, "model", "weights.bin")))
		}
	}
	ws1, ws2, ws3 := t.TempDir(), t.TempDir(), t.TempDir()
	first := task(ws1, "run-1", "trainer@sha256:aa", work(ws1))
	if first.results[cache.ResultCache] != cache.Miss || worked != 1 || !strings.Contains(first.stderr, "cache stored") {
		t.Fatalf("first: %v, worked %d\n%s", first.results, worked, first.stderr)
	}
	second := task(ws2, "run-2", "trainer@sha256:aa", work(ws2))
	if second.results[cache.ResultCache] != cache.Hit || worked != 1 {
		t.Fatalf("second: %v, worked %d, want a hit without work\n%s", second.results, worked, second.stderr)
	}
	if b, err := os.ReadFile(filepath.Join(ws2, "model", "weights.bin")); err != nil || string(b) != "w1" {
		t.Errorf("restored weights.bin = %q, %v", b, err)
	}
	if want := "file://" + filepath.Join(ws2, "model", "weights.bin"); second.results["model-uri"] != want {
		t.Errorf("restored model-uri = %q, want %q", second.results["model-uri"], want)
	}
	third := task(ws3, "run-3", "trainer@sha256:bb", work(ws3))
	if third.results[cache.ResultCache] != cache.Miss || worked != 2 {
		t.Errorf("another image: %v, worked %d, want a miss that works", third.results, worked)
	}
}
