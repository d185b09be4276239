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
	"bytes"
	"context"
	"encoding/json"
	"gonum.org/v1/gonum/mat"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/mlpipe/mlpipe/pkg/ml"
)

// stepRun is the outcome of one step invocation.
type stepRun struct {
	results map[string]string
	stdout  string
	stderr  string
	err     error
}

// runStep runs `mlpipe-step <args>` in-process with a fresh results directory.
func runStep(t *testing.T, args ...string) stepRun {
	t.Helper()
	resultsDir := t.TempDir()
	cmd := NewStepsRoot()
	var out, errb bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	if sub, _, err := cmd.Find(args); err == nil && sub.Flags().Lookup("results-dir") != nil {
		args = append(args, "--results-dir", resultsDir)
	}
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	r := stepRun{results: map[string]string{}, stdout: out.String(), stderr: errb.String(), err: err}
	entries, rerr := os.ReadDir(resultsDir)
	if rerr != nil {
		t.Fatal(rerr)
	}
	for _, e := range entries {
		data, rerr := os.ReadFile(filepath.Join(resultsDir, e.Name()))
		if rerr != nil {
			t.Fatal(rerr)
		}
		r.results[e.Name()] = string(data)
	}
	return r
}

// mustRun runs a step and fails the test on error.
func mustRun(t *testing.T, args ...string) stepRun {
	t.Helper()
	r := runStep(t, args...)
	if r.err != nil {
		t.Fatalf("%s failed: %v\nstderr:\n%s", strings.Join(args, " "), r.err, r.stderr)
	}
	return r
}

// repoFile returns the path of a file relative to the repository root.
func repoFile(t testing.TB, rel string) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", filepath.FromSlash(rel))
}

// filesUnder lists the regular files below dir (relative paths, sorted); a missing dir has none.
func filesUnder(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	return files
}

// writeFile writes a test input file and returns its path.
func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func jsonUnmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

// loadSplit reads a whole split of the dataset directory ds through pkg/ml.
func loadSplit(t testing.TB, ds, split string) (*ml.Schema, *mat.Dense, []int) {
	t.Helper()
	s, f, err := ml.OpenSplit(context.Background(), ds, split)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	x, y, err := ml.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return s, x, y
}

// memoryDataset is x and y (of k classes) as an in-memory ml.Dataset.
func memoryDataset(t testing.TB, x *mat.Dense, y []int, k int) ml.Dataset {
	t.Helper()
	ds, err := ml.NewMemoryDataset(x, y, k, ml.BlockRows)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}
