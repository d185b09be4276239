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
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/mlpipe/mlpipe/pkg/spec"
	"github.com/mlpipe/mlpipe/test/cluster"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"knative.dev/pkg/apis"
)

// Runs that start themselves: a PipelineSchedule slot (mlpipe's controller binary) and a MinIO upload (the
// direct receiver of mlpipe-webhooks), each training for real on the node, once per slot or object version.

var (
	binsMu sync.Mutex
	bins   = map[string]string{}
)

// buildBinary builds a command of this module once per test binary.
func buildBinary(t *testing.T, pkg string) string {
	t.Helper()
	binsMu.Lock()
	defer binsMu.Unlock()
	if b, ok := bins[pkg]; ok {
		return b
	}
	root, err := cluster.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "mlpipe-e2e-bin-")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", out, "./"+pkg)
	cmd.Dir = root
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./%s: %v\n%s", pkg, err, msg)
	}
	bins[pkg] = out
	return out
}

// startProcess runs a binary of mlpipe's controller or webhooks for the test, logging to dir/name.log, and stops
// it at the end.
func startProcess(t *testing.T, dir, name, bin string, args ...string) {
	t.Helper()
	cluster.RunProcess(t, filepath.Join(dir, name+".log"), bin, args,
		"SYSTEM_NAMESPACE="+cluster.TektonNamespace, "METRICS_DOMAIN=mlpipe.dev/controller")
}

// clusterSpec points the example at MinIO through the spec itself (data, store and storage), so that runs
// nobody passes params to — scheduled and S3-started ones — work in the cluster.
func clusterSpec(e *churnEnv) func(*spec.MLPipeline) {
	return func(s *spec.MLPipeline) {
		s.Spec.Data.URI = "s3://datasets/" + e.ns + "/train.csv"
		s.Spec.Register.Store = e.store()
		s.Spec.Storage = &spec.Storage{Endpoint: e.minio.Endpoint, Region: cluster.MinIORegion, SecretName: "mlpipe-s3"}
	}
}

// waitRunsDone waits until n PipelineRuns matching selector exist and all of them are done.
func waitRunsDone(t *testing.T, e *churnEnv, selector string, n int, within time.Duration) []v1.PipelineRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	var items []v1.PipelineRun
	err := wait.PollUntilContextCancel(ctx, time.Second, true, func(ctx context.Context) (bool, error) {
		list, err := e.c.Tekton.TektonV1().PipelineRuns(e.ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return false, nil
		}
		items = list.Items
		if len(items) < n {
			return false, nil
		}
		for i := range items {
			if !items[i].IsDone() {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		for i := range items {
			e.logRun(t, items[i].Name)
		}
		t.Fatalf("%d runs (%s), want %d done: %v", len(items), selector, n, err)
	}
	sort.Slice(items, func(i, j int) bool { return items[i].Name < items[j].Name })
	return items
}

// TestRealNodeSchedule: a PipelineSchedule firing every minute, reconciled by two replicas of mlpipe's
// controller binary at once (no leader election), starts exactly one PipelineRun for its slot, and that run
// trains, evaluates and registers for real.
func TestRealNodeSchedule(t *testing.T) {
	c := realNode(t)
	startKServe(t, c)
	installScheduleCRD(t, c)
	e := newChurnEnv(t, c)
	e.generate(t, func(s *spec.MLPipeline) {
		clusterSpec(e)(s)
		if s.Spec.Triggers == nil {
			s.Spec.Triggers = &spec.Triggers{}
		}
		s.Spec.Triggers.Schedule = &spec.Schedule{Cron: "* * * * *", TimeZone: "UTC", ConcurrencyPolicy: "Forbid"}
	})
	if e.out.Schedule == nil {
		t.Fatal("generate emitted no PipelineSchedule")
	}
	controller := buildBinary(t, "cmd/controller")
	logs := t.TempDir()
	for i := 0; i < 2; i++ {
		startProcess(t, logs, "controller-"+strconv.Itoa(i), controller, "--kubeconfig", c.Kubeconfig,
			"--disable-ha", "--health-probes=false")
	}
	selector := "mlpipe.dev/schedule=" + e.out.Schedule.Name
	runs := waitRunsDone(t, e, selector, 1, 4*time.Minute)
	slots := map[string]int{}
	for _, pr := range runs {
		slots[pr.Name]++
	}
	pr := runs[0]
	t.Logf("slot runs: %v; first %s: %s", slots, pr.Name, condition(pr.Status.GetCondition(apis.ConditionSucceeded)))
	if !pr.Status.GetCondition(apis.ConditionSucceeded).IsTrue() {
		e.logRun(t, pr.Name)
		t.Fatalf("scheduled run %s did not succeed", pr.Name)
	}
	if acc := result(&pr, "accuracy"); acc == "" {
		t.Errorf("scheduled run reports no accuracy")
	}
	if v := result(&pr, "model-version"); v == "" {
		t.Errorf("scheduled run registered no model")
	}
	// Two replicas reconciled every slot; each slot's run name is derived from the slot, so a slot has one run.
	all, err := c.Tekton.TektonV1().PipelineRuns(e.ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Items) != len(runs) {
		t.Errorf("%d PipelineRuns in the namespace, %d labelled with the schedule", len(all.Items), len(runs))
	}
}

// installScheduleCRD applies mlpipe's PipelineSchedule CRD (config/) once.
func installScheduleCRD(t *testing.T, c *cluster.Cluster) {
	t.Helper()
	scheduleCRDOnce.Do(func() {
		root, err := cluster.RepoRoot()
		if err != nil {
			scheduleCRDErr = err
			return
		}
		scheduleCRDErr = c.InstallCRDs(filepath.Join(root, "config", "300-pipelineschedule.yaml"))
	})
	if scheduleCRDErr != nil {
		t.Fatalf("installing the PipelineSchedule CRD: %v", scheduleCRDErr)
	}
}

var (
	scheduleCRDOnce sync.Once
	scheduleCRDErr  error
)

// TestRealNodeS3Upload: MinIO notifies mlpipe-webhooks' direct receiver of an upload; the receiver starts one
// PipelineRun from the generated pipelinerun.yaml for the object, which trains for real. The same object
// uploaded again (the same version: a duplicate notification) starts no second run.
func TestRealNodeS3Upload(t *testing.T) {
	c := realNode(t)
	cluster.RequireTools(t, "tkn", "minio")
	startKServe(t, c)
	port, err := cluster.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	const token = "e2e-receiver-token"
	// A MinIO of this test's own, notifying the receiver (queued on disk until it answers 200); the runs read
	// the uploaded object from it.
	m := cluster.StartMinIO(t, c.Tools.MinIO, c.HostIP, &cluster.MinIOWebhook{
		Endpoint: "http://127.0.0.1:" + strconv.Itoa(port) + "/churn", Token: token})
	e := newChurnEnvWith(t, c, m)
	e.generate(t, clusterSpec(e))

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "token"), []byte(token), 0o600); err != nil {
		t.Fatal(err)
	}
	routes := fmt.Sprintf(`routes:
  - path: /churn
    namespace: %s
    pipeline: churn
    pipelineRunTemplate: %s
    tokenFile: token
    filter: {bucket: uploads, prefix: churn/, suffix: .csv}
`, e.ns, filepath.Join(e.dir, "pipelinerun.yaml"))
	if err := os.WriteFile(filepath.Join(dir, "routes.yaml"), []byte(routes), 0o600); err != nil {
		t.Fatal(err)
	}
	webhooks := buildBinary(t, "cmd/mlpipe-webhooks")
	startProcess(t, dir, "mlpipe-webhooks", webhooks, "--kubeconfig", c.Kubeconfig, "--interceptor-addr", "",
		"--receiver-addr", "127.0.0.1:"+strconv.Itoa(port), "--receiver-config", filepath.Join(dir, "routes.yaml"))
	m.MakeBucket(t, "uploads")
	if err := m.Notify("uploads", "churn/", ".csv"); err != nil {
		t.Fatal(err)
	}
	csv := filepath.Join("..", "..", "examples", "data", "churn.csv")
	m.PutFile(t, "uploads", "churn/2026-12 upload.csv", csv)
	runs := waitRunsDone(t, e, "mlpipe.dev/trigger=s3", 1, 4*time.Minute)
	pr := runs[0]
	if !pr.Status.GetCondition(apis.ConditionSucceeded).IsTrue() {
		e.logRun(t, pr.Name)
		t.Fatalf("S3-started run %s: %s", pr.Name, condition(pr.Status.GetCondition(apis.ConditionSucceeded)))
	}
	if got := pr.Spec.Params; len(got) == 0 || got[0].Name != "data-uri" || got[0].Value.StringVal != "s3://uploads/churn/2026-12 upload.csv" {
		t.Errorf("run params %+v, want data-uri of the uploaded object", got)
	}
	if result(&pr, "model-version") == "" {
		t.Errorf("the S3-started run registered no model")
	}
	m.PutFile(t, "uploads", "churn/2026-12 upload.csv", csv) // same bytes: same ETag, the same object version
	time.Sleep(8 * time.Second)                              // MinIO delivers within a second or two
	list, err := c.Tekton.TektonV1().PipelineRuns(e.ns).List(context.Background(), metav1.ListOptions{LabelSelector: "mlpipe.dev/trigger=s3"})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 {
		t.Errorf("%d runs after the same object was notified twice, want 1", len(list.Items))
	}
}
