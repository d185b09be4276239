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

package e2e

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"knative.dev/pkg/apis"

	"github.com/mlpipe/mlpipe/pkg/commands"
	"github.com/mlpipe/mlpipe/pkg/spec"
	"github.com/mlpipe/mlpipe/pkg/steps/synth"
	"github.com/mlpipe/mlpipe/test/cluster"
)

// The cluster cache on the real node: the churn example generated with spec.cache.store in MinIO, every step
// a container of the mlpipe-step image built from this checkout.

// cacheBigRows is the size of the generated dataset of TestRealNodeCache: large enough that preprocessing it
// takes over a second (so that a hit's restore time is measurably shorter; 1,200,000 rows took 560 ms once
// preprocess got faster again), small enough for this machine.
const cacheBigRows = 2400000

// cacheRun is one finished PipelineRun with its TaskRuns.
type cacheRun struct {
	name string
	pr   *v1.PipelineRun
	trs  map[string]*v1.TaskRun
	wall time.Duration // from tkn pipeline start to done
}

// newCacheEnv is newChurnEnv with a cache bucket, the data at s3://datasets/<ns>/train.csv (rows generated
// rows, or the bundled CSV for 0), and the example generated with the cluster cache in
// s3://cache-<ns>/cache and no deploy (this node runs no KServe).
func newCacheEnv(t *testing.T, c *cluster.Cluster, rows int) *churnEnv {
	t.Helper()
	e := newChurnEnv(t, c)
	e.minio.MakeBucket(t, "cache-"+e.ns)
	if rows > 0 {
		putChurnCSV(t, e, rows, 7)
	}
	e.generate(t, func(s *spec.MLPipeline) {
		s.Spec.Deploy = nil
		s.Spec.Cache = &spec.Cache{Store: "s3://cache-" + e.ns + "/cache"}
	})
	// mlpipe cache explain reads the store as a user's machine does: with AWS_* variables.
	t.Setenv("AWS_ACCESS_KEY_ID", cluster.MinIOUser)
	t.Setenv("AWS_SECRET_ACCESS_KEY", cluster.MinIOPassword)
	t.Setenv("AWS_ENDPOINT_URL", e.minio.Endpoint)
	t.Setenv("AWS_REGION", cluster.MinIORegion)
	return e
}

// putChurnCSV uploads rows synthetic churn rows (seed) to s3://datasets/<ns>/train.csv.
func putChurnCSV(t *testing.T, e *churnEnv, rows int, seed uint64) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "train.csv")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := csv.NewWriter(f)
	if err := w.Write(synth.Header); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteAll(synth.WithDefects(synth.Churn(rows, seed), 6, 5, seed)); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	info := e.minio.PutFile(t, "datasets", e.ns+"/train.csv", path)
	t.Logf("s3://datasets/%s/train.csv: %d rows (seed %d), %d bytes, ETag %s", e.ns, rows, seed, info.Size, info.ETag)
}

// run starts the pipeline with params and waits until it is done.
func (e *churnEnv) run(t *testing.T, params ...string) *cacheRun {
	t.Helper()
	start := time.Now()
	name := e.start(t, params...)
	pr, trs := e.wait(t, name)
	return &cacheRun{name: name, pr: pr, trs: trs, wall: time.Since(start)}
}

// succeeded fails the test unless the run succeeded.
func (e *churnEnv) succeeded(t *testing.T, r *cacheRun) {
	t.Helper()
	if cond := r.pr.Status.GetCondition(apis.ConditionSucceeded); !cond.IsTrue() {
		e.logRun(t, r.name)
		t.Fatalf("PipelineRun %s: %s, want Succeeded", r.name, condition(cond))
	}
}

// wantCache checks the cache result of each task.
func wantCache(t *testing.T, r *cacheRun, want map[string]string) {
	t.Helper()
	for task, w := range want {
		tr := r.trs[task]
		if tr == nil {
			t.Errorf("%s: no TaskRun for %s", r.name, task)
			continue
		}
		if got := taskResult(tr, "cache"); got != w {
			t.Errorf("%s: task %s has result cache=%q, want %q", r.name, task, got, w)
		}
		if key := taskResult(tr, "cache-key"); w != "off" && len(key) != 64 {
			t.Errorf("%s: task %s has result cache-key=%q, want a sha256", r.name, task, key)
		}
	}
}

// stepTime is how long the task's step container ran (Tekton's step state; one-second resolution).
func stepTime(t *testing.T, r *cacheRun, task string) time.Duration {
	t.Helper()
	tr := r.trs[task]
	for _, s := range tr.Status.Steps {
		if s.Terminated != nil {
			return s.Terminated.FinishedAt.Sub(s.Terminated.StartedAt.Time)
		}
	}
	t.Fatalf("%s: the step of %s has no terminated state: %+v", r.name, task, tr.Status.Steps)
	return 0
}

// taskRunTime is the TaskRun's duration, Pod start included.
func taskRunTime(r *cacheRun, task string) time.Duration {
	tr := r.trs[task]
	if tr.Status.StartTime == nil || tr.Status.CompletionTime == nil {
		return 0
	}
	return tr.Status.CompletionTime.Sub(tr.Status.StartTime.Time)
}

// stepLog is the log of the task's step container.
func (e *churnEnv) stepLog(t *testing.T, r *cacheRun, task string) string {
	t.Helper()
	tr := r.trs[task]
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	logs, err := e.c.Kube.CoreV1().Pods(e.ns).GetLogs(tr.Status.PodName, &corev1.PodLogOptions{Container: "step-" + task}).Do(ctx).Raw()
	if err != nil {
		t.Fatalf("logs of %s/step-%s: %v", tr.Status.PodName, task, err)
	}
	return string(logs)
}

// checkedIn reads the cache check's own time from a step log line "cache miss <key>: ... (checked in 12ms)"
// or "cache hit <key> from ... (restored 3 files in 1.2s)".
var checkedIn = regexp.MustCompile(`cache (?:miss [0-9a-f]{64}: .* \(checked in|hit [0-9a-f]{64} from .* \(restored \d+ files in) ([^)]+)\)`)

func (e *churnEnv) cacheTime(t *testing.T, r *cacheRun, task string) time.Duration {
	t.Helper()
	log := e.stepLog(t, r, task)
	m := checkedIn.FindStringSubmatch(log)
	if m == nil {
		t.Fatalf("%s: the log of %s says nothing of a cache check:\n%s", r.name, task, log)
	}
	d, err := time.ParseDuration(m[1])
	if err != nil {
		t.Fatalf("%s: %s: %q: %v", r.name, task, m[0], err)
	}
	return d
}

// usageLine is the line a step ends its log with (pkg/steps ReportUsage): "preprocess: N rows in T (R rows/s), …".
var usageLine = regexp.MustCompile(`(?m)^(\w+): \d+ rows in (\S+) \(`)

// workTime returns the duration task's step reports for its own work.
func (e *churnEnv) workTime(t *testing.T, r *cacheRun, task string) time.Duration {
	t.Helper()
	log := e.stepLog(t, r, task)
	for _, m := range usageLine.FindAllStringSubmatch(log, -1) {
		if m[1] == task {
			d, err := time.ParseDuration(m[2])
			if err != nil {
				t.Fatalf("%s: %s: %q: %v", r.name, task, m[0], err)
			}
			return d
		}
	}
	t.Fatalf("%s: the log of %s has no usage line:\n%s", r.name, task, log)
	return 0
}

// mlpipe runs the mlpipe CLI in this process against the real node.
func (e *churnEnv) mlpipe(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := commands.New()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(append(args, "--kubeconfig", e.c.Kubeconfig, "-n", e.ns))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := root.ExecuteContext(ctx)
	t.Logf("mlpipe %s:\n%s", strings.Join(args, " "), out.String())
	return out.String(), err
}

// explain runs mlpipe cache explain --cluster on a task of a run.
func (e *churnEnv) explain(t *testing.T, r *cacheRun, task string) string {
	t.Helper()
	out, err := e.mlpipe(t, "cache", "explain", "--cluster", r.name, task)
	if err != nil {
		t.Fatalf("mlpipe cache explain --cluster %s %s: %v", r.name, task, err)
	}
	return out
}

// entry reads the cache entry of a key from the cache bucket.
func (e *churnEnv) entry(t *testing.T, key string) (outputs []struct{ Location, Path, Digest string }) {
	t.Helper()
	data := e.minio.Get(t, "cache-"+e.ns, "cache/entries/"+key[:2]+"/"+key+".json")
	var en struct {
		Outputs []struct{ Location, Path, Digest string } `json:"outputs"`
	}
	if err := json.Unmarshal(data, &en); err != nil {
		t.Fatalf("entry %s: %v", key, err)
	}
	return en.Outputs
}

// benchFigure appends a line to $MLPIPE_BENCH_CACHE_OUT (hack/bench-cache.sh) and logs it.
func benchFigure(t *testing.T, format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	t.Log("bench: " + line)
	if path := os.Getenv("MLPIPE_BENCH_CACHE_OUT"); path != "" {
		f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		fmt.Fprintln(f, line)
	}
}

// TestRealNodeCache: the churn example on a dataset of cacheBigRows rows, run with the cache off, then twice
// with only epochs changed: the second time preprocess is a hit (result cache=hit, its step time a fraction of
// the first run's) while train and evaluate miss, and explain names epochs. New data at the same s3:// key
// misses; an entry whose stored file was deleted behind mlpipe's back is a miss whose results equal a computed
// run's.
func TestRealNodeCache(t *testing.T) {
	c := realNode(t)
	e := newCacheEnv(t, c, cacheBigRows)
	var off, first, second, newData *cacheRun

	t.Run("Off", func(t *testing.T) {
		off = e.run(t, "epochs=3", "cache=false")
		e.succeeded(t, off)
		wantCache(t, off, map[string]string{"preprocess": "off", "train": "off", "evaluate": "off"})
		if keys := e.minio.List(t, "cache-"+e.ns, "cache/entries/"); len(keys) != 0 {
			t.Errorf("a run with cache=false stored entries: %v", keys)
		}
	})
	t.Run("EpochsOnly", func(t *testing.T) {
		first = e.run(t, "epochs=3")
		e.succeeded(t, first)
		wantCache(t, first, map[string]string{"preprocess": "miss", "train": "miss", "evaluate": "miss"})
		second = e.run(t, "epochs=2")
		e.succeeded(t, second)
		wantCache(t, second, map[string]string{"preprocess": "hit", "train": "miss", "evaluate": "miss"})

		if a, b := taskResult(first.trs["preprocess"], "dataset-digest"), taskResult(second.trs["preprocess"], "dataset-digest"); a == "" || a != b {
			t.Errorf("dataset-digest of the hit %q, of the computed run %q: want equal", b, a)
		}
		computed, restored := stepTime(t, first, "preprocess"), stepTime(t, second, "preprocess")
		restore := e.cacheTime(t, second, "preprocess")
		t.Logf("preprocess step: computed %s, restored %s (restore itself %s); TaskRun %s vs %s",
			computed, restored, restore, taskRunTime(first, "preprocess"), taskRunTime(second, "preprocess"))
		// Step durations come from container timestamps (whole seconds); the step's own figures are in ms: the
		// computed run's work (its usage line) against the hit's restore.
		work := e.workTime(t, first, "preprocess")
		if work < 500*time.Millisecond {
			t.Fatalf("preprocessing %d rows took %s: too short to compare a restore with", cacheBigRows, work)
		}
		if ratio := restore.Seconds() / work.Seconds(); ratio > 0.75 {
			t.Errorf("the hit's restore took %s, %.2f of the computed preprocess's %s: want it to drop to the restore time", restore, ratio, work)
		}
		benchFigure(t, "preprocess-step computed=%s restored=%s work=%s restore=%s", computed, restored, work, restore)
		benchFigure(t, "wall first=%s second=%s ratio=%.3f", first.wall.Round(time.Second), second.wall.Round(time.Second), second.wall.Seconds()/first.wall.Seconds())

		out := e.explain(t, second, "train")
		for _, want := range []string{"train in run " + second.name + ": cache MISS", "compared with run " + first.name, `param epochs: "3" -> "2"`} {
			if !strings.Contains(out, want) {
				t.Errorf("mlpipe cache explain %s train does not say %q:\n%s", second.name, want, out)
			}
		}
		if strings.Contains(out, "data-uri") || strings.Contains(out, "seed") {
			t.Errorf("explain names an input that did not change:\n%s", out)
		}
		if out := e.explain(t, second, "preprocess"); !strings.Contains(out, "cache HIT") || !strings.Contains(out, "restored from "+first.name+"/preprocess") {
			t.Errorf("mlpipe cache explain %s preprocess does not say it hit the entry of %s:\n%s", second.name, first.name, out)
		}
		// The cache check's own cost on a miss, against the task's time.
		check, trainStep := e.cacheTime(t, first, "train"), stepTime(t, first, "train")
		ppCheck := e.cacheTime(t, first, "preprocess")
		benchFigure(t, "miss-check preprocess=%s/%s train=%s/%s", ppCheck, computed, check, trainStep)
		if ppCheck.Seconds() > 0.05*computed.Seconds() {
			t.Errorf("the cache check of preprocess's miss took %s, more than 5%% of its step's %s", ppCheck, computed)
		}
		offStep := stepTime(t, off, "preprocess")
		benchFigure(t, "preprocess-step off=%s miss=%s", offStep, computed)
	})
	t.Run("NewDataSameKey", func(t *testing.T) {
		if second == nil {
			t.Skip("EpochsOnly did not finish")
		}
		putChurnCSV(t, e, cacheBigRows, 8)
		newData = e.run(t, "epochs=2")
		e.succeeded(t, newData)
		wantCache(t, newData, map[string]string{"preprocess": "miss"})
		if a, b := taskResult(second.trs["preprocess"], "dataset-digest"), taskResult(newData.trs["preprocess"], "dataset-digest"); a == b {
			t.Errorf("new data gave the same dataset-digest %q: the old dataset was restored", a)
		}
		out := e.explain(t, newData, "preprocess")
		if want := "input artifact behind param data-uri changed contents"; !strings.Contains(out, want) {
			t.Errorf("mlpipe cache explain %s preprocess does not say %q:\n%s", newData.name, want, out)
		}
	})
	t.Run("ArtifactDeleted", func(t *testing.T) {
		if newData == nil {
			t.Skip("NewDataSameKey did not finish")
		}
		key := taskResult(newData.trs["preprocess"], "cache-key")
		outputs := e.entry(t, key)
		if len(outputs) == 0 {
			t.Fatalf("the entry of %s's preprocess stores no files", newData.name)
		}
		gone := outputs[0]
		blob := "cache/blobs/sha256/" + gone.Digest[:2] + "/" + gone.Digest
		if err := e.minio.Client.RemoveObject(context.Background(), "cache-"+e.ns, blob, minio.RemoveObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Logf("deleted s3://cache-%s/%s (%s/%s of entry %s)", e.ns, blob, gone.Location, gone.Path, key[:12])
		again := e.run(t, "epochs=2")
		e.succeeded(t, again)
		wantCache(t, again, map[string]string{"preprocess": "miss"})
		if got := taskResult(again.trs["preprocess"], "cache-key"); got != key {
			t.Errorf("preprocess key %s, want the same key %s as %s (same inputs)", got, key, newData.name)
		}
		for task, res := range map[string]string{"preprocess": "dataset-digest", "train": "model-digest", "evaluate": "accuracy"} {
			if a, b := taskResult(newData.trs[task], res), taskResult(again.trs[task], res); a == "" || a != b {
				t.Errorf("%s result %s: %q after the deleted file, %q before: want equal", task, res, b, a)
			}
		}
		out := e.explain(t, again, "preprocess")
		if !strings.Contains(out, "gone from the store") {
			t.Errorf("mlpipe cache explain %s preprocess does not say the stored file is gone:\n%s", again.name, out)
		}
	})
}

// TestRealNodeResume: a run whose train Task is broken fails in train after preprocess succeeded; with the
// Task fixed, `mlpipe resume` creates <run>-resume-1, labelled with the run it resumes, in which preprocess
// hits and train reruns, and whose results equal those of a clean run with the cache off.
func TestRealNodeResume(t *testing.T) {
	c := realNode(t)
	e := newCacheEnv(t, c, 0)
	ctx := context.Background()
	tasks := e.c.Tekton.TektonV1().Tasks(e.ns)
	var trainTask string
	for _, pt := range e.out.Pipeline.Spec.Tasks {
		if pt.Name == "train" && pt.TaskRef != nil {
			trainTask = pt.TaskRef.Name
		}
	}
	good, err := tasks.Get(ctx, trainTask, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// A bug in the train Task: its step runs a command mlpipe-step does not have.
	broken := good.DeepCopy()
	broken.Spec.Steps[0].Args[0] = "train-typo"
	if _, err := tasks.Update(ctx, broken, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	failed := e.run(t)
	if cond := failed.pr.Status.GetCondition(apis.ConditionSucceeded); !cond.IsFalse() {
		t.Fatalf("PipelineRun %s with a broken train Task: %s, want Failed", failed.name, condition(cond))
	}
	wantCache(t, failed, map[string]string{"preprocess": "miss"})
	if tr := failed.trs["train"]; tr == nil || !tr.Status.GetCondition(apis.ConditionSucceeded).IsFalse() {
		t.Fatalf("train did not fail in %s: %+v", failed.name, tr)
	}

	// The fix: the generated Task again.
	if out, err := e.c.Kubectl(ctx, "apply", "-k", e.dir, "-n", e.ns); err != nil {
		t.Fatalf("kubectl apply -k: %v\n%s", err, out)
	}
	out, err := e.mlpipe(t, "resume", failed.name)
	if err != nil {
		t.Fatalf("mlpipe resume %s: %v", failed.name, err)
	}
	name := failed.name + "-resume-1"
	for _, want := range []string{"PipelineRun " + name + " created in namespace " + e.ns, "failed: train", "tkn pipelinerun logs -f " + name + " -n " + e.ns} {
		if !strings.Contains(out, want) {
			t.Errorf("mlpipe resume does not say %q:\n%s", want, out)
		}
	}
	pr, trs := e.wait(t, name)
	resumed := &cacheRun{name: name, pr: pr, trs: trs}
	e.succeeded(t, resumed)
	if got := pr.Labels["mlpipe.dev/resumes"]; got != failed.name {
		t.Errorf("%s is labelled mlpipe.dev/resumes=%q, want %s", name, got, failed.name)
	}
	wantCache(t, resumed, map[string]string{"preprocess": "hit", "train": "miss", "evaluate": "miss"})
	if p, q := pr.Spec.Workspaces[0].VolumeClaimTemplate, failed.pr.Spec.Workspaces[0].VolumeClaimTemplate; p == nil || q == nil {
		t.Errorf("workspaces of the resume %+v: want the failed run's volumeClaimTemplate", pr.Spec.Workspaces)
	}

	// A clean run, everything computed, gives the same results.
	clean := e.run(t, "cache=false")
	e.succeeded(t, clean)
	wantCache(t, clean, map[string]string{"preprocess": "off", "train": "off", "evaluate": "off"})
	for task, res := range map[string]string{"preprocess": "dataset-digest", "train": "model-digest", "evaluate": "accuracy"} {
		if a, b := taskResult(clean.trs[task], res), taskResult(resumed.trs[task], res); a == "" || a != b {
			t.Errorf("%s result %s: resumed run %q, clean run %q: want equal", task, res, b, a)
		}
	}
	if a, b := result(clean.pr, "accuracy"), result(pr, "accuracy"); a != b {
		t.Errorf("accuracy of the resumed run %q, of the clean run %q: want equal", b, a)
	}

	// A run that is still running is not resumed; the test then cancels it.
	running := e.start(t)
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if _, err := e.c.WaitForPipelineRun(wctx, e.ns, running, cluster.PipelineRunReason("Running")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.mlpipe(t, "resume", running); err == nil || !strings.Contains(err.Error(), "is still running") {
		t.Errorf("mlpipe resume %s (running) = %v, want a refusal", running, err)
	}
	patch := []byte(`{"spec":{"status":"Cancelled"}}`)
	if _, err := e.c.Tekton.TektonV1().PipelineRuns(e.ns).Patch(ctx, running, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	e.wait(t, running)
}
