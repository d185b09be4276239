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

package commands

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	testclock "k8s.io/utils/clock/testing"

	"github.com/mlpipe/mlpipe/pkg/cache"
)

// recordDecisions records decisions of pipeline churn in the file:// cache store dir, one minute apart.
func recordDecisions(t *testing.T, dir string, records ...cache.Record) {
	t.Helper()
	clk := testclock.NewFakePassiveClock(time.Date(2026, 5, 8, 2, 0, 0, 0, time.UTC))
	c, err := cache.Open(context.Background(), "file://"+dir, 0, clk)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range records {
		r.Pipeline = "churn"
		if err := c.Record(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		clk.SetTime(clk.Now().Add(time.Minute))
	}
}

// explainTaskRun is the TaskRun of task in churn-run-x7k2p with the cache results and the store in its env.
func explainTaskRun(task, decision, key, storeURI string) v1.TaskRun {
	tr := taskRunOf(task, corev1.ConditionTrue, "Succeeded", decision)
	tr.Labels["tekton.dev/pipeline"] = "churn"
	tr.Status.Results = append(tr.Status.Results, v1.TaskRunResult{Name: "cache-key", Value: *v1.NewStructuredValues(key)})
	tr.Status.TaskSpec = &v1.TaskSpec{Steps: []v1.Step{{Name: task, Env: []corev1.EnvVar{{Name: "MLPIPE_CACHE_STORE", Value: storeURI}}}}}
	return tr
}

func TestCacheExplainCluster(t *testing.T) {
	const (
		key1 = "1111111111111111111111111111111111111111111111111111111111111111"
		key2 = "2222222222222222222222222222222222222222222222222222222222222222"
		keyP = "3333333333333333333333333333333333333333333333333333333333333333"
	)
	dir := t.TempDir()
	storeURI := "file://" + dir
	recordDecisions(t, dir,
		cache.Record{Task: "train", Run: "churn-run-earlier", Decision: "miss", Key: key1,
			Components: map[string]string{"param:epochs": "80", "param:seed": "42", "task": "t1"}},
		cache.Record{Task: "preprocess", Run: "churn-run-earlier", Decision: "miss", Key: keyP,
			Components: map[string]string{"param:seed": "42", "input:data-uri": "etag-1"}},
		cache.Record{Task: "train", Run: "churn-run-x7k2p", Decision: "miss", Key: key2, Reason: "no entry for key 222222222222",
			Components: map[string]string{"param:epochs": "40", "param:seed": "42", "task": "t1"}},
		cache.Record{Task: "preprocess", Run: "churn-run-x7k2p", Decision: "hit", Key: keyP, CachedFrom: "churn-run-earlier/preprocess",
			Components: map[string]string{"param:seed": "42", "input:data-uri": "etag-1"}},
	)
	api := newTektonAPI(t, pipelineRunWith(corev1.ConditionTrue, "Succeeded"),
		explainTaskRun("train", "miss", key2, storeURI), explainTaskRun("preprocess", "hit", keyP, storeURI))
	tests := []struct {
		task string
		want []string
	}{
		{"train", []string{
			"train in run churn-run-x7k2p: cache MISS, key 222222222222\n",
			"compared with run churn-run-earlier (key 111111111111), these inputs changed:\n",
			"  - param epochs: \"80\" -> \"40\"\n",
		}},
		{"preprocess", []string{
			"preprocess in run churn-run-x7k2p: cache HIT, key 333333333333\n",
			"restored from churn-run-earlier/preprocess",
			"  input:data-uri = etag-1\n",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.task, func(t *testing.T) {
			out, err := runMLPipe("cache", "explain", "--cluster", "--kubeconfig", api.kubeconfig, "-n", "ml", "churn-run-x7k2p", tt.task)
			if err != nil {
				t.Fatalf("mlpipe cache explain --cluster: %v\n%s", err, out)
			}
			for _, want := range tt.want {
				if !strings.Contains(out, want) {
					t.Errorf("output does not say %q:\n%s", want, out)
				}
			}
			if tt.task == "train" && strings.Contains(out, "seed") {
				t.Errorf("output names seed, which did not change:\n%s", out)
			}
		})
	}
}

// TestCacheExplainClusterFlagNeedsCluster: a cluster flag without --cluster is refused, not silently local.
func TestCacheExplainClusterFlagNeedsCluster(t *testing.T) {
	out, err := runMLPipe("cache", "explain", "-n", "ml", "--state-dir", t.TempDir(), "churn-run-x7k2p", "train")
	if err == nil || !strings.Contains(err.Error(), "--namespace names a cluster run: add --cluster") {
		t.Errorf("mlpipe cache explain -n ml = %v, want a request for --cluster\n%s", err, out)
	}
}

func TestCachePrune(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	store := func(key string, created time.Time, content string) {
		c, err := cache.Open(context.Background(), "file://"+dir, 0, testclock.NewFakePassiveClock(created))
		if err != nil {
			t.Fatal(err)
		}
		f := cache.File{Output: cache.Output{Location: "$(workspaces.artifacts.path)/data", Path: "train.csv"}, Data: []byte(content)}
		if _, err := c.Store(context.Background(), cache.Entry{Key: key, Task: "preprocess"}, []cache.File{f}); err != nil {
			t.Fatal(err)
		}
	}
	old := strings.Repeat("a", 64)
	fresh := strings.Repeat("b", 64)
	store(old, now.Add(-48*time.Hour), "old rows")
	store(fresh, now.Add(-time.Hour), "fresh rows")
	out, err := runMLPipe("cache", "prune", "--store", "file://"+dir, "--max-age", "24h")
	if err != nil {
		t.Fatalf("mlpipe cache prune: %v\n%s", err, out)
	}
	if !strings.Contains(out, "deleted 1 entries, 0 decision records and 1 files older than 24h0m0s; kept 1 entries and 1 files") {
		t.Errorf("output:\n%s\nwant 1 entry and its file deleted, 1 of each kept", out)
	}
	c, err := cache.Open(context.Background(), "file://"+filepath.Clean(dir), 0, testclock.NewFakePassiveClock(now))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Lookup(context.Background(), old); err == nil {
		t.Errorf("the 48h-old entry is still there after prune --max-age 24h")
	}
	if _, files, err := c.Lookup(context.Background(), fresh); err != nil || len(files) != 1 || string(files[0].Data) != "fresh rows" {
		t.Errorf("the 1h-old entry after prune: %v %v, want it intact", files, err)
	}
	if _, err := runMLPipe("cache", "prune", "--store", "file://"+dir); err == nil {
		t.Errorf("prune without --max-age succeeded: want it refused")
	}
}
