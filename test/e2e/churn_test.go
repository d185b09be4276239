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
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mlpipe/mlpipe/pkg/generate"
	"github.com/mlpipe/mlpipe/pkg/localrun"
	"github.com/mlpipe/mlpipe/pkg/spec"
	"github.com/mlpipe/mlpipe/test/cluster"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"knative.dev/pkg/apis"
)

// The bundled churn example on the real node, as the README's cluster walk-through runs it: the data in MinIO,
// `mlpipe generate`, `kubectl apply -k`, `tkn pipeline start` with only documented flags, every step a
// container of the mlpipe-step image built from this checkout, in a namespace that enforces the restricted Pod
// Security profile.

// churnEnv is one test's namespace with MinIO, the data, the Secrets and an alert receiver.
type churnEnv struct {
	c      *cluster.Cluster
	ns     string
	minio  *cluster.MinIO
	alerts *alertReceiver
	dir    string // generate -o
	out    *generate.Output
	spec   *spec.MLPipeline
}

var (
	minioOnce sync.Once
	minioSrv  *cluster.MinIO
	minioStop = func() {}
	minioErr  error
)

// sharedMinIO is one MinIO for every test, on this machine's address (Pods reach it there); TestMain stops it.
func sharedMinIO(t *testing.T, c *cluster.Cluster) *cluster.MinIO {
	cluster.RequireTools(t, "minio")
	minioOnce.Do(func() {
		var dir string
		if dir, minioErr = os.MkdirTemp("", "mlpipe-e2e-minio-"); minioErr != nil {
			return
		}
		var stop func()
		if minioSrv, stop, minioErr = cluster.RunMinIO(c.Tools.MinIO, c.HostIP, 0, dir, nil); minioErr != nil {
			return
		}
		minioStop = func() { stop(); _ = os.RemoveAll(dir) }
		minioSrv.MakeBucket(t, "datasets")
	})
	if minioErr != nil {
		t.Fatalf("starting MinIO: %v", minioErr)
	}
	return minioSrv
}

// newChurnEnv prepares a namespace: the churn CSV at s3://datasets/<ns>/train.csv, a models bucket, the
// mlpipe-s3 Secret the Tasks read their credentials from and the mlpipe-alert Secret pointing at a receiver.
func newChurnEnv(t *testing.T, c *cluster.Cluster) *churnEnv {
	t.Helper()
	cluster.RequireTools(t, "tkn", "minio")
	return newChurnEnvWith(t, c, sharedMinIO(t, c))
}

// newChurnEnvWith is newChurnEnv with a MinIO of the test's own.
func newChurnEnvWith(t *testing.T, c *cluster.Cluster, m *cluster.MinIO) *churnEnv {
	t.Helper()
	e := &churnEnv{c: c, ns: c.NewNamespace(t, true), minio: m}
	if m != minioSrv {
		m.MakeBucket(t, "datasets")
	}
	e.minio.MakeBucket(t, "models-"+e.ns)
	e.minio.PutFile(t, "datasets", e.ns+"/train.csv", filepath.Join("..", "..", "examples", "data", "churn.csv"))
	e.alerts = startAlertReceiver(t, c.HostIP)
	ctx := context.Background()
	for _, s := range []*corev1.Secret{
		{ObjectMeta: metav1.ObjectMeta{Name: "mlpipe-s3"}, StringData: map[string]string{
			"AWS_ACCESS_KEY_ID": cluster.MinIOUser, "AWS_SECRET_ACCESS_KEY": cluster.MinIOPassword}},
		{ObjectMeta: metav1.ObjectMeta{Name: "mlpipe-alert"}, StringData: map[string]string{"url": e.alerts.url}},
	} {
		if _, err := c.Kube.CoreV1().Secrets(e.ns).Create(ctx, s, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// generate renders the example (changed by edit, if not nil) for the namespace with the node's step image,
// writes it to a folder and applies it with `kubectl apply -k`.
func (e *churnEnv) generate(t *testing.T, edit func(*spec.MLPipeline)) {
	t.Helper()
	s, err := spec.LoadFile(filepath.Join("..", "..", "examples", "churn", "mlpipe.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s.Metadata.Namespace = e.ns
	if edit != nil {
		edit(s)
	}
	e.spec = s
	e.out, err = generate.Generate(context.Background(), s, generate.Options{StepImage: e.c.Images.Step.Ref})
	if err != nil {
		t.Fatal(err)
	}
	e.dir = t.TempDir()
	if err := generate.WriteDir(e.dir, e.out.Files); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := e.c.Kubectl(ctx, "apply", "-k", e.dir, "-n", e.ns, "--validate=strict")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("kubectl apply -k:\n%s", out)
}

// start runs `tkn pipeline start` as the README documents it and returns the PipelineRun's name.
func (e *churnEnv) start(t *testing.T, params ...string) string {
	t.Helper()
	args := []string{"pipeline", "start", e.out.Pipeline.Name, "-n", e.ns, "--use-param-defaults",
		"--workspace", "name=artifacts,volumeClaimTemplateFile=" + filepath.Join(e.dir, "workspace-template.yaml"),
		"-p", "data-uri=s3://datasets/" + e.ns + "/train.csv",
		"-p", "model-store=" + e.store(),
		"-p", "s3-endpoint=" + e.minio.Endpoint, "-p", "s3-region=" + cluster.MinIORegion,
		"--output", "name"}
	if e.out.ServiceAccount != nil {
		args = append(args, "-s", e.out.ServiceAccount.Name)
	}
	for _, p := range params {
		args = append(args, "-p", p)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := e.c.Tkn(ctx, args...)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimSpace(string(out))
	if i := strings.LastIndex(name, "/"); i >= 0 {
		name = name[i+1:]
	}
	t.Logf("tkn %s\n-> PipelineRun %s", strings.Join(args, " "), name)
	return name
}

func (e *churnEnv) store() string { return "s3://models-" + e.ns + "/churn" }

// wait waits until the PipelineRun is done and returns it with its TaskRuns; on failure it logs every step.
func (e *churnEnv) wait(t *testing.T, name string) (*v1.PipelineRun, map[string]*v1.TaskRun) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	start := time.Now()
	pr, err := e.c.WaitForPipelineRun(ctx, e.ns, name, cluster.PipelineRunDone)
	if err != nil {
		e.logRun(t, name)
		t.Fatal(err)
	}
	t.Logf("PipelineRun %s done in %s: %s", name, time.Since(start).Round(time.Second), condition(pr.Status.GetCondition(apis.ConditionSucceeded)))
	trs, err := e.c.ChildTaskRuns(ctx, e.ns, name)
	if err != nil {
		t.Fatal(err)
	}
	return pr, trs
}

// logRun logs each TaskRun's condition and its Pod's container logs.
func (e *churnEnv) logRun(t *testing.T, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	trs, _ := e.c.ChildTaskRuns(ctx, e.ns, name)
	for task, tr := range trs {
		t.Logf("TaskRun %s (%s): %s", task, tr.Name, condition(tr.Status.GetCondition(apis.ConditionSucceeded)))
		if tr.Status.PodName == "" {
			continue
		}
		pod, err := e.c.Kube.CoreV1().Pods(e.ns).Get(ctx, tr.Status.PodName, metav1.GetOptions{})
		if err != nil {
			continue
		}
		for _, cs := range pod.Spec.Containers {
			logs, _ := e.c.Kube.CoreV1().Pods(e.ns).GetLogs(pod.Name, &corev1.PodLogOptions{Container: cs.Name}).Do(ctx).Raw()
			t.Logf("  %s/%s:\n%s", pod.Name, cs.Name, logs)
		}
	}
}

func condition(c *apis.Condition) string {
	if c == nil {
		return "no condition"
	}
	return fmt.Sprintf("%s %s: %s", c.Status, c.Reason, c.Message)
}

// result returns a PipelineRun result's value.
func result(pr *v1.PipelineRun, name string) string {
	for _, r := range pr.Status.Results {
		if r.Name == name {
			return r.Value.StringVal
		}
	}
	return ""
}

// taskResult returns a TaskRun result's value.
func taskResult(tr *v1.TaskRun, name string) string {
	if tr == nil {
		return ""
	}
	for _, r := range tr.Status.Results {
		if r.Name == name {
			return r.Value.StringVal
		}
	}
	return ""
}

// alertReceiver is the webhook the alert step posts to, on this machine's address.
type alertReceiver struct {
	url  string
	mu   sync.Mutex
	msgs []map[string]any
}

func startAlertReceiver(t *testing.T, host string) *alertReceiver {
	t.Helper()
	r := &alertReceiver{}
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		r.msgs = append(r.msgs, m)
		r.mu.Unlock()
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	r.url = "http://" + l.Addr().String() + "/alert"
	return r
}

func (r *alertReceiver) messages() []map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.msgs)
}

// inferenceServices is KServe's resource.
var inferenceServices = schema.GroupVersionResource{Group: "serving.kserve.io", Version: "v1beta1", Resource: "inferenceservices"}

// localRun runs the Pipeline with `mlpipe run`'s runner on this machine, on the bundled CSV.
func localRun(t *testing.T, e *churnEnv) *localrun.Result {
	t.Helper()
	t.Setenv(selfEnv, "1")
	data, err := filepath.Abs(filepath.Join("..", "..", "examples", "data", "churn.csv"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := localrun.Run(context.Background(), e.out.Pipeline, e.out.Tasks, localrun.Options{
		Root:        filepath.Join(t.TempDir(), ".mlpipe"),
		SelfCommand: []string{os.Args[0]},
		PassEnv:     []string{selfEnv}, // the steps run this binary as mlpipe
		Params:      map[string]string{"data-uri": data, "model-store": "file://" + filepath.Join(t.TempDir(), "registry")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Task("evaluate") == nil || !res.Succeeded() {
		t.Fatalf("local run %s: %s", res.Status, res.Message)
	}
	return res
}

// TestRealNodeChurn: the example trains, evaluates, registers into MinIO and deploys under the generated
// ServiceAccount, every step in a real container. Deploy applies the InferenceService against KServe's own CRD
// with the runner's Role; KServe's own controller (Standard mode) turns it into a Deployment whose Pod loads the
// registered version from MinIO and serves it: an Open Inference Protocol infer request to that Pod answers the
// classes `mlpipe run`'s model predicts for the same rows, and KServe wrote the Ready and URL deploy returned.
func TestRealNodeChurn(t *testing.T) {
	c := realNode(t)
	startKServe(t, c)
	e := newChurnEnv(t, c)
	e.generate(t, nil)
	if e.out.ServiceAccount == nil || e.out.Role == nil {
		t.Fatal("generate emitted no runner ServiceAccount/Role for a spec with deploy")
	}
	name := e.start(t)
	pr, trs := e.wait(t, name)
	if cond := pr.Status.GetCondition(apis.ConditionSucceeded); !cond.IsTrue() {
		e.logRun(t, name)
		t.Fatalf("PipelineRun %s: %s, want Succeeded", name, condition(cond))
	}
	for _, task := range []string{"preprocess", "train", "evaluate", "register", "deploy"} {
		tr := trs[task]
		if tr == nil || !tr.Status.GetCondition(apis.ConditionSucceeded).IsTrue() {
			t.Errorf("task %s did not succeed: %+v", task, tr)
		}
	}
	if _, ran := trs["alert"]; ran {
		t.Errorf("the alert ran although the gate passed and no task failed")
	}

	// The accuracy comes from the evaluate container, and equals what mlpipe run computes on the same data.
	clusterAcc := result(pr, "accuracy")
	local := localRun(t, e)
	localAcc := local.Task("evaluate").Results["accuracy"]
	t.Logf("accuracy: real cluster run %s, mlpipe run %s", clusterAcc, localAcc)
	if clusterAcc == "" || clusterAcc != localAcc {
		t.Errorf("accuracy of the cluster run = %q, mlpipe run's = %q: want equal", clusterAcc, localAcc)
	}

	// The model version lives in MinIO, where every Pod can read it; register wrote it, evaluate found no
	// champion before it.
	version := result(pr, "model-version")
	// Versions are <store>/<model>/v<N>/; the store is s3://models-<ns>/churn and the model churn.
	modelKey := "churn/churn/v" + version + "/model.json"
	keys := e.minio.List(t, "models-"+e.ns, "churn/")
	t.Logf("registry s3://models-%s/churn: %v (version %q)", e.ns, keys, version)
	if version == "" || !slices.Contains(keys, modelKey) {
		t.Errorf("no %s in the registry: %v", modelKey, keys)
	}

	// The InferenceService exists, applied by the deploy Pod as the generated ServiceAccount, and serves the
	// registered version from the s3:// registry.
	isvc, err := c.Dynamic.Resource(inferenceServices).Namespace(e.ns).Get(context.Background(), "churn", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the deploy step applied no InferenceService: %v", err)
	}
	uri := isvc.GetAnnotations()["mlpipe.dev/model-uri"]
	if want := "s3://models-" + e.ns + "/" + modelKey; uri != want {
		t.Errorf("InferenceService serves %q, want %s", uri, want)
	}
	// KServe's controller, not the test, made it Ready: its predictor condition is KServe's, and deploy's
	// endpoint is the URL KServe wrote.
	for _, want := range []string{"PredictorReady", "Ready"} {
		if ok, msg := hasTrueCondition(isvc, want); !ok {
			t.Errorf("InferenceService churn: %s", msg)
		}
	}
	url, _, _ := unstructured.NestedString(isvc.Object, "status", "url")
	if got := taskResult(trs["deploy"], "endpoint"); got == "" || got != url {
		t.Errorf("deploy's endpoint result %q, want KServe's status.url %q", got, url)
	}

	// The predictor Pod answers as mlpipe run's model does for the same rows.
	ip := predictorPodIP(t, c, e.ns, "churn")
	body := inferRows(t, 40)
	client := &http.Client{Timeout: 5 * time.Second}
	got, err := predict(client, "http://"+ip+":8080/v2/models/churn/infer", body)
	if err != nil {
		t.Fatalf("infer request to KServe's predictor Pod: %v", err)
	}
	want := localPredictions(t, local, body)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("classes of KServe's predictor differ from mlpipe run's model (-local +served):\n%s", diff)
	}
	t.Logf("KServe %s predictor %s (%s) answered 40 rows as mlpipe run's model does", cluster.KServeVersion, ip, url)
}

// hasTrueCondition reports whether obj's status has condition typ with status True, and a description otherwise.
func hasTrueCondition(obj *unstructured.Unstructured, typ string) (bool, string) {
	conds, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	for _, c := range conds {
		if m, ok := c.(map[string]any); ok && m["type"] == typ {
			return m["status"] == "True", fmt.Sprintf("%s=%v: %v %v", typ, m["status"], m["reason"], m["message"])
		}
	}
	return false, "no " + typ + " condition in " + fmt.Sprint(conds)
}

// TestRealNodeGateFails: a threshold the model cannot meet skips register and deploy; the alert Pod runs in
// finally and delivers to the test's webhook a message with the metric, threshold and value.
func TestRealNodeGateFails(t *testing.T) {
	c := realNode(t)
	e := newChurnEnv(t, c)
	e.generate(t, nil)
	name := e.start(t, "threshold=0.9999")
	pr, trs := e.wait(t, name)
	if cond := pr.Status.GetCondition(apis.ConditionSucceeded); !cond.IsTrue() {
		e.logRun(t, name)
		t.Fatalf("PipelineRun %s: %s, want Succeeded (Completed) with the gate failed", name, condition(cond))
	}
	skipped := cluster.SkippedTasks(pr)
	for _, task := range []string{"register", "deploy"} {
		if !slices.Contains(skipped, task) {
			t.Errorf("%s not skipped (skipped: %v)", task, skipped)
		}
	}
	if tr := trs["alert"]; tr == nil || !tr.Status.GetCondition(apis.ConditionSucceeded).IsTrue() {
		e.logRun(t, name)
		t.Fatalf("the alert did not run and succeed: %+v", tr)
	}
	msgs := e.alerts.messages()
	if len(msgs) != 1 {
		t.Fatalf("alert receiver got %d messages, want 1: %v", len(msgs), msgs)
	}
	m := msgs[0]
	acc := result(pr, "accuracy")
	t.Logf("alert: %v", m["text"])
	if m["metric"] != "accuracy" || m["threshold"] != "0.9999" || m["value"] != acc || m["passed"] != false {
		t.Errorf("alert = %v, want metric accuracy, threshold 0.9999, value %s (the run's accuracy), passed false", m, acc)
	}
	text, _ := m["text"].(string)
	// The text shows the accuracy with four decimals; the value field above keeps the result as it is.
	f, err := strconv.ParseFloat(acc, 64)
	if err != nil {
		t.Fatalf("accuracy result %q: %v", acc, err)
	}
	for _, want := range []string{"accuracy", "0.9999", fmt.Sprintf("accuracy = %.4f", f)} {
		if !strings.Contains(text, want) {
			t.Errorf("alert text %q does not name %q", text, want)
		}
	}
	if keys := e.minio.List(t, "models-"+e.ns, ""); len(keys) != 0 {
		t.Errorf("a model was registered although the gate failed: %v", keys)
	}
}

// TestRealNodeTrainFails: a label column that is not in the data fails for real; the PipelineRun ends Failed and
// the alert names the failed task and quotes its error.
func TestRealNodeTrainFails(t *testing.T) {
	c := realNode(t)
	e := newChurnEnv(t, c)
	e.generate(t, nil)
	name := e.start(t, "label=no_such_column")
	pr, trs := e.wait(t, name)
	if cond := pr.Status.GetCondition(apis.ConditionSucceeded); !cond.IsFalse() {
		t.Fatalf("PipelineRun %s: %s, want Failed", name, condition(cond))
	}
	var failed []string
	for task, tr := range trs {
		if tr.Status.GetCondition(apis.ConditionSucceeded).IsFalse() {
			failed = append(failed, task)
		}
	}
	if len(failed) != 1 {
		t.Fatalf("failed tasks %v, want exactly one", failed)
	}
	msgs := e.alerts.messages()
	if len(msgs) != 1 {
		e.logRun(t, name)
		t.Fatalf("alert receiver got %d messages, want 1: %v", len(msgs), msgs)
	}
	text, _ := msgs[0]["text"].(string)
	t.Logf("alert: %s", text)
	if !strings.Contains(text, failed[0]) || !strings.Contains(text, "no_such_column") {
		t.Errorf("alert text %q does not name the failed task %s and quote its error (the missing column)", text, failed[0])
	}
}
