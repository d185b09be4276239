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

// Package schedule benchmarks the PipelineSchedule controller (cmd/controller) against the Kubernetes CronJob
// controller (kube-controller-manager, same release as the test kube-apiserver) on the same machine: N
// schedules (default 1,000) on "* * * * *" firing in the same minute against a real API server, at the same
// client limits. For each configuration it starts a fresh etcd + kube-apiserver, runs the controller as a
// subprocess behind a counting proxy, and measures, for the first full minute slot after the schedules exist (and
// the next one, where whatever the first left undone is still queued):
// how many runs (Jobs) were created for the slot within the minute, the creation skew (creationTimestamp - slot,
// 1 s resolution; and the time a watch first saw the run - slot), the API requests the controller made per run
// during the minute, and its peak RSS (VmHWM).
//
// It runs only with MLPIPE_BENCH_SCHEDULE=1 (hack/bench-schedule.sh sets it and prints the table):
//
//	MLPIPE_BENCH_SCHEDULE=1               run the benchmark (otherwise every test here skips at once)
//	MLPIPE_BENCH_SCHEDULE_N=1000          schedules per configuration
//	MLPIPE_BENCH_SCHEDULE_SLOTS=2         consecutive slots measured (the first, then steady state)
//	MLPIPE_BENCH_SCHEDULE_LIMITS=20/30,100/200   client QPS/burst configurations (both controllers)
//	MLPIPE_BENCH_SCHEDULE_OUT=<file>      append one JSON result per line (the report reads it)
//	MLPIPE_BENCH_SCHEDULE_MD=<file>       TestBenchScheduleReport writes the markdown table here
//	MLPIPE_KCM_BIN                        kube-controller-manager (hack/tools-env.sh prints it)
package schedule

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mlpipe/mlpipe/pkg/apis/mlpipe/v1alpha1"
	mlpipeclient "github.com/mlpipe/mlpipe/pkg/client/clientset/versioned"
	"github.com/mlpipe/mlpipe/pkg/reconciler/pipelineschedule/resources"
	"github.com/mlpipe/mlpipe/test/cluster"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/uuid"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"
)

const (
	envBench  = "MLPIPE_BENCH_SCHEDULE"
	envN      = "MLPIPE_BENCH_SCHEDULE_N"
	envSlots  = "MLPIPE_BENCH_SCHEDULE_SLOTS"
	envLimits = "MLPIPE_BENCH_SCHEDULE_LIMITS"
	envOut    = "MLPIPE_BENCH_SCHEDULE_OUT"
	envMD     = "MLPIPE_BENCH_SCHEDULE_MD"
	envKCM    = "MLPIPE_KCM_BIN"

	benchNamespace  = "bench"
	systemNamespace = "mlpipe-system"
	// cronJobSlotAnnotation is the slot the CronJob controller created a Job for.
	cronJobSlotAnnotation = "batch.kubernetes.io/cronjob-scheduled-timestamp"
	// createWorkers is how many goroutines create the schedules, and the runs of the create-rate baseline.
	createWorkers = 16
)

var (
	pipelineRunsGVR = schema.GroupVersionResource{Group: "tekton.dev", Version: "v1", Resource: "pipelineruns"}
	jobsGVR         = schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "jobs"}
)

func requireBench(t *testing.T) {
	t.Helper()
	if v, _ := strconv.ParseBool(os.Getenv(envBench)); !v {
		t.Skipf("schedule benchmark: set %s=1 (or run hack/bench-schedule.sh / make bench); takes ~15 minutes", envBench)
	}
}

// benchSlots is how many consecutive slots are measured (MLPIPE_BENCH_SCHEDULE_SLOTS, default 2): the first,
// and the next ones, where what the first left undone is still queued.
func benchSlots() int {
	if n, err := strconv.Atoi(os.Getenv(envSlots)); err == nil && n > 0 {
		return n
	}
	return 2
}

func benchN() int {
	if n, err := strconv.Atoi(os.Getenv(envN)); err == nil && n > 0 {
		return n
	}
	return 1000
}

type limits struct {
	QPS   float32
	Burst int
}

func (l limits) String() string { return fmt.Sprintf("%g/%d", l.QPS, l.Burst) }

func benchLimits(t *testing.T) []limits {
	v := os.Getenv(envLimits)
	if v == "" {
		v = "20/30,100/200"
	}
	var out []limits
	for _, s := range strings.Split(v, ",") {
		q, b, ok := strings.Cut(strings.TrimSpace(s), "/")
		qps, err1 := strconv.ParseFloat(q, 32)
		burst, err2 := strconv.Atoi(b)
		if !ok || err1 != nil || err2 != nil {
			t.Fatalf("%s: bad QPS/burst %q", envLimits, s)
		}
		out = append(out, limits{QPS: float32(qps), Burst: burst})
	}
	return out
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := cluster.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// TestBenchScheduleCreateRate measures the machine's own create limit: how fast a plain client (QPS 1000,
// burst 2000, through the same proxy) creates the PipelineRuns the controller would create, with 16 and with 2
// concurrent creators (the controller's work queue has 2 workers).
func TestBenchScheduleCreateRate(t *testing.T) {
	requireBench(t)
	n := benchN()
	tektonDir, err := cluster.ModuleDir(context.Background(), cluster.TektonModule)
	if err != nil {
		t.Fatal(err)
	}
	p := startPlane(t, filepath.Join(tektonDir, "config", "300-crds"), filepath.Join(repoRoot(t), "config", "300-pipelineschedule.yaml"))
	kube := kubernetes.NewForConfigOrDie(p.Admin)
	createNamespace(t, kube, benchNamespace)
	tekton := tektonclient.NewForConfigOrDie(p.proxyConfig(1000, 2000))
	slot := time.Now().Truncate(time.Minute)
	for _, workers := range []int{createWorkers, 2} {
		// Warm up (connections, the API server's caches) outside the measurement.
		warm := newSchedule(fmt.Sprintf("warm-%d", workers))
		warm.UID = uuid.NewUUID()
		if _, err := tekton.TektonV1().PipelineRuns(benchNamespace).Create(context.Background(), resources.MakePipelineRun(warm, slot), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		parallel(t, n, workers, func(ctx context.Context, i int) error {
			s := newSchedule(fmt.Sprintf("rate-w%d-%04d", workers, i))
			s.UID = uuid.NewUUID()
			_, err := tekton.TektonV1().PipelineRuns(benchNamespace).Create(ctx, resources.MakePipelineRun(s, slot), metav1.CreateOptions{})
			return err
		})
		took := time.Since(start)
		rate := float64(n) / took.Seconds()
		t.Logf("create rate with %d creators: %d PipelineRuns in %s = %.0f/s", workers, n, took.Round(time.Millisecond), rate)
		writeResult(t, result{
			Kind: "create-rate", Controller: fmt.Sprintf("plain client, %d creators", workers), QPS: 1000, Burst: 2000, N: n,
			CreateSeconds: took.Seconds(), CreatesPerSecond: rate, Load: loadAvg(),
		})
	}
}

// TestBenchScheduleMLPipe measures cmd/controller.
func TestBenchScheduleMLPipe(t *testing.T) {
	requireBench(t)
	root := repoRoot(t)
	bin := filepath.Join(t.TempDir(), "controller")
	build := exec.Command("nice", "-n", "10", "go", "build", "-o", bin, "./cmd/controller")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/controller: %v\n%s", err, out)
	}
	tektonDir, err := cluster.ModuleDir(context.Background(), cluster.TektonModule)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range benchLimits(t) {
		t.Run("qps="+l.String(), func(t *testing.T) {
			p := startPlane(t, filepath.Join(tektonDir, "config", "300-crds"), filepath.Join(root, "config", "300-pipelineschedule.yaml"))
			kube := kubernetes.NewForConfigOrDie(p.Admin)
			createNamespace(t, kube, benchNamespace)
			createNamespace(t, kube, systemNamespace)
			for _, f := range []string{"config-logging.yaml", "config-observability.yaml"} {
				for _, cm := range readConfigMaps(t, filepath.Join(root, "config", f)) {
					cm.Namespace = systemNamespace
					if _, err := kube.CoreV1().ConfigMaps(systemNamespace).Create(context.Background(), cm, metav1.CreateOptions{}); err != nil {
						t.Fatal(err)
					}
				}
			}
			proc := startProcess(t, bin, []string{
				"--kubeconfig=" + p.Kubeconfig,
				"--kube-api-qps=" + strconv.FormatFloat(float64(l.QPS), 'g', -1, 32),
				"--kube-api-burst=" + strconv.Itoa(l.Burst),
				"--disable-ha", "--health-probes=false", "--status-sync-period=5m",
			}, []string{
				"SYSTEM_NAMESPACE=" + systemNamespace,
				"METRICS_PROMETHEUS_HOST=127.0.0.1",
				"METRICS_PROMETHEUS_PORT=" + strconv.Itoa(freePort(t)),
			}, filepath.Join(p.Dir, "controller.log"))
			mc := mlpipeclient.NewForConfigOrDie(p.Admin)
			res := measure(t, p, proc, side{
				controller: "mlpipe (cmd/controller)",
				limits:     l,
				watching:   []string{"pipelineschedules", "pipelineruns"},
				gvr:        pipelineRunsGVR,
				slotOf: func(m *metav1.PartialObjectMetadata) (time.Time, bool) {
					return parseSlot(m.Annotations[resources.ScheduledTimeAnnotation])
				},
				create: func(ctx context.Context, i int) error {
					_, err := mc.MlpipeV1alpha1().PipelineSchedules(benchNamespace).Create(ctx, newSchedule(fmt.Sprintf("s-%04d", i)), metav1.CreateOptions{})
					return err
				},
			})
			for _, r := range res {
				writeResult(t, r)
			}
		})
	}
}

// TestBenchScheduleCronJob measures the Kubernetes CronJob controller (kube-controller-manager
// --controllers=cronjob-controller).
func TestBenchScheduleCronJob(t *testing.T) {
	requireBench(t)
	kcm := kcmBinary(t)
	for _, l := range benchLimits(t) {
		t.Run("qps="+l.String(), func(t *testing.T) {
			p := startPlane(t)
			kube := kubernetes.NewForConfigOrDie(p.Admin)
			createNamespace(t, kube, benchNamespace)
			proc := startProcess(t, kcm, []string{
				"--kubeconfig=" + p.Kubeconfig,
				"--controllers=cronjob-controller",
				"--leader-elect=false",
				"--secure-port=0",
				"--kube-api-qps=" + strconv.FormatFloat(float64(l.QPS), 'g', -1, 32),
				"--kube-api-burst=" + strconv.Itoa(l.Burst),
			}, nil, filepath.Join(p.Dir, "kube-controller-manager.log"))
			res := measure(t, p, proc, side{
				controller: "Kubernetes CronJob (kube-controller-manager " + kcmVersion(kcm) + ")",
				limits:     l,
				watching:   []string{"cronjobs", "jobs"},
				gvr:        jobsGVR,
				slotOf: func(m *metav1.PartialObjectMetadata) (time.Time, bool) {
					return parseSlot(m.Annotations[cronJobSlotAnnotation])
				},
				create: func(ctx context.Context, i int) error {
					_, err := kube.BatchV1().CronJobs(benchNamespace).Create(ctx, newCronJob(fmt.Sprintf("s-%04d", i)), metav1.CreateOptions{})
					return err
				},
			})
			for _, r := range res {
				writeResult(t, r)
			}
		})
	}
}

// TestBenchScheduleReport renders the results written so far (MLPIPE_BENCH_SCHEDULE_OUT) as a markdown table.
func TestBenchScheduleReport(t *testing.T) {
	requireBench(t)
	path := os.Getenv(envOut)
	if path == "" {
		t.Skipf("%s not set: no results file to report", envOut)
	}
	results, err := readResults(path)
	if err != nil {
		t.Fatal(err)
	}
	md := renderMarkdown(results)
	t.Logf("\n%s", md)
	if out := os.Getenv(envMD); out != "" {
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(out, []byte(md), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// side is one controller at one client limit.
type side struct {
	controller string
	limits     limits
	// watching are the resources the controller must be watching before the schedules are created.
	watching []string
	// gvr is the resource the controller creates per slot; slotOf reads an object's slot.
	gvr    schema.GroupVersionResource
	slotOf func(*metav1.PartialObjectMetadata) (time.Time, bool)
	// create creates schedule i.
	create func(ctx context.Context, i int) error
}

// seen is one run (Job) as the benchmark's watch saw it.
type seen struct {
	slot, created, firstSeen time.Time
}

// measure creates the schedules just after a minute boundary and measures the next slots (one result each).
func measure(t *testing.T, p *plane, proc *process, s side) []result {
	t.Helper()
	n := benchN()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// Watch the runs (metadata only, directly: not counted) and note when each is first seen.
	var mu sync.Mutex
	runs := map[string]seen{}
	md := metadata.NewForConfigOrDie(p.Admin)
	inf := metadatainformer.NewFilteredMetadataInformer(md, s.gvr, benchNamespace, 0, cache.Indexers{}, nil).Informer()
	_, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: func(obj any) {
		now := time.Now()
		m, ok := obj.(*metav1.PartialObjectMetadata)
		if !ok {
			return
		}
		slot, ok := s.slotOf(m)
		if !ok {
			return
		}
		mu.Lock()
		if _, dup := runs[m.Name]; !dup {
			runs[m.Name] = seen{slot: slot, created: m.CreationTimestamp.Time, firstSeen: now}
		}
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	go inf.Run(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		t.Fatal("run watch did not sync")
	}

	// Wait until the controller watches its resources.
	deadline := time.Now().Add(90 * time.Second)
	for !p.Proxy.Watching(s.watching...) {
		if proc.exited() || time.Now().After(deadline) {
			t.Fatalf("controller not watching %v (exited: %v); log tail:\n%s", s.watching, proc.exited(), proc.tail(40))
		}
		time.Sleep(100 * time.Millisecond)
	}
	started := time.Now()

	// Create the schedules right after a minute boundary, so that the controller has the rest of the minute to
	// take them in before their first slot.
	now := time.Now()
	if into := now.Sub(now.Truncate(time.Minute)); into > 3*time.Second {
		wait := time.Minute - into + 500*time.Millisecond
		t.Logf("waiting %s for the next minute boundary", wait.Round(time.Second))
		time.Sleep(wait)
	}
	createStart := time.Now()
	parallel(t, n, createWorkers, s.create)
	createDone := time.Now()
	slot := createDone.Truncate(time.Minute).Add(time.Minute)
	note := ""
	if slot.Sub(createDone) < 10*time.Second {
		note = fmt.Sprintf("schedules created only %s before the slot", slot.Sub(createDone).Round(time.Second))
	}
	t.Logf("%s at QPS/burst %s: %d schedules created in %s; measuring slot %s",
		s.controller, s.limits, n, createDone.Sub(createStart).Round(time.Millisecond), slot.Format("15:04:05"))

	// Measure the first slot (the schedules' first run each) and the following ones (steady state: what the
	// first left undone is still queued).
	k := benchSlots()
	cpu := make([]float64, k+1)
	loads := make([]string, k)
	for i := 0; i < k; i++ {
		time.Sleep(time.Until(slot.Add(time.Duration(i) * time.Minute)))
		cpu[i] = proc.cpuSeconds()
		loads[i] = loadAvg()
	}
	time.Sleep(time.Until(slot.Add(time.Duration(k) * time.Minute)))
	cpu[k] = proc.cpuSeconds()
	// Keep watching a little past the last minute: runs the slot still gets late, and the watch's lag.
	time.Sleep(time.Until(slot.Add(time.Duration(k)*time.Minute + 15*time.Second)))
	if proc.exited() {
		t.Errorf("controller exited during the measurement; log tail:\n%s", proc.tail(40))
	}
	rssPeak, rssEnd := proc.procStatus("VmHWM"), proc.procStatus("VmRSS")

	var out []result
	for i := 0; i < k; i++ {
		at := slot.Add(time.Duration(i) * time.Minute)
		end := at.Add(time.Minute)
		mu.Lock()
		var createdSkew, seenSkew []float64
		inMinute, other := 0, 0
		for _, r := range runs {
			if !r.slot.Equal(at) {
				other++
				continue
			}
			createdSkew = append(createdSkew, r.created.Sub(at).Seconds())
			seenSkew = append(seenSkew, r.firstSeen.Sub(at).Seconds())
			if r.created.Before(end) {
				inMinute++
			}
		}
		total := len(createdSkew)
		mu.Unlock()

		minute := p.Proxy.Requests(at, end)
		before := p.Proxy.Requests(started, slot)
		if i > 0 {
			before = nil
		}
		res := result{
			Kind: "slot", Controller: s.controller, QPS: s.limits.QPS, Burst: s.limits.Burst, N: n,
			Slot: at.UTC().Format(time.RFC3339), SlotIndex: i + 1,
			CreatedInMinute: inMinute, CreatedTotal: total, Lost: n - inMinute, OtherSlots: other,
			SkewCreated: summarize(createdSkew), SkewSeen: summarize(seenSkew),
			Requests: len(minute), Breakdown: breakdown(minute), SetupRequests: len(before), SetupBreakdown: breakdown(before),
			RSSPeakMiB: rssPeak, RSSEndMiB: rssEnd, CPUSeconds: cpu[i+1] - cpu[i],
			CreateSeconds: createDone.Sub(createStart).Seconds(), Load: loads[i],
		}
		if i == 0 {
			res.Note = note
		}
		if inMinute > 0 {
			res.RequestsPerRun = float64(len(minute)) / float64(inMinute)
		}
		b, _ := json.Marshal(res)
		t.Logf("result: %s", b)
		t.Logf("%s QPS/burst %s slot %d: %d/%d created in the minute (%d by +%ds); skew created p50/p99/max %.1f/%.1f/%.1f s, seen %.1f/%.1f/%.1f s; %d requests (%.2f/run) %v; before the slot %d requests %v; RSS peak %.0f MiB; CPU %.1f s",
			s.controller, s.limits, i+1, inMinute, n, total, int(time.Duration(k-i)*time.Minute/time.Second)+15,
			res.SkewCreated.P50, res.SkewCreated.P99, res.SkewCreated.Max, res.SkewSeen.P50, res.SkewSeen.P99, res.SkewSeen.Max,
			res.Requests, res.RequestsPerRun, res.Breakdown, res.SetupRequests, res.SetupBreakdown, rssPeak, res.CPUSeconds)
		out = append(out, res)
	}
	return out
}

// parallel runs fn for 0..n-1 on workers goroutines, failing the test on the first error (AlreadyExists is
// fine: a retried create).
func parallel(t *testing.T, n, workers int, fn func(ctx context.Context, i int) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := fn(ctx, i); err != nil && !apierrors.IsAlreadyExists(err) {
					errs <- fmt.Errorf("item %d: %w", i, err)
					cancel()
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func newSchedule(name string) *v1alpha1.PipelineSchedule {
	return &v1alpha1.PipelineSchedule{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: benchNamespace},
		Spec: v1alpha1.PipelineScheduleSpec{
			Schedule:          "* * * * *",
			ConcurrencyPolicy: v1alpha1.AllowConcurrent,
			PipelineRunTemplate: v1alpha1.PipelineRunTemplate{
				PipelineRef: &pipelinev1.PipelineRef{Name: "churn"},
				Params:      pipelinev1.Params{{Name: "as-of", Value: *pipelinev1.NewStructuredValues("$(context.scheduledTime)")}},
			},
		},
	}
}

func newCronJob(name string) *batchv1.CronJob {
	return &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: benchNamespace},
		Spec: batchv1.CronJobSpec{
			Schedule:          "* * * * *",
			ConcurrencyPolicy: batchv1.AllowConcurrent,
			JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever,
				Containers:    []corev1.Container{{Name: "work", Image: "busybox", Command: []string{"true"}}},
			}}}},
		},
	}
}

func createNamespace(t *testing.T, kube kubernetes.Interface, name string) {
	t.Helper()
	if _, err := kube.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func readConfigMaps(t *testing.T, path string) []*corev1.ConfigMap {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := utilyaml.NewYAMLOrJSONDecoder(f, 4096)
	var out []*corev1.ConfigMap
	for {
		cm := &corev1.ConfigMap{}
		if err := dec.Decode(cm); err != nil {
			if errors.Is(err, io.EOF) {
				return out
			}
			t.Fatalf("decoding %s: %v", path, err)
		}
		if cm.Kind == "ConfigMap" {
			out = append(out, cm)
		}
	}
}

func parseSlot(v string) (time.Time, bool) {
	if v == "" {
		return time.Time{}, false
	}
	ts, err := time.Parse(time.RFC3339, v)
	return ts, err == nil
}

// kcmBinary finds kube-controller-manager: MLPIPE_KCM_BIN, else what hack/tools-env.sh prints.
func kcmBinary(t *testing.T) string {
	t.Helper()
	path := os.Getenv(envKCM)
	if path == "" {
		cmd := exec.Command("bash", filepath.Join(repoRoot(t), "hack", "tools-env.sh"))
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("hack/tools-env.sh: %v", err)
		}
		for _, line := range strings.Split(string(out), "\n") {
			if v, ok := strings.CutPrefix(line, "export "+envKCM+"="); ok {
				path = strings.ReplaceAll(v, `\`, "")
			}
		}
	}
	if !isExecutable(path) {
		t.Fatalf("kube-controller-manager not built (%s=%q): run hack/build-tools.sh kube-controller-manager", envKCM, path)
	}
	return path
}

func kcmVersion(bin string) string {
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		return "?"
	}
	return strings.TrimPrefix(strings.TrimSpace(string(out)), "Kubernetes ")
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

func breakdown(reqs []request) map[string]int {
	out := map[string]int{}
	for _, r := range reqs {
		c := classify(r)
		k := c.verb + " " + c.resource
		if c.subresource != "" {
			k += "/" + c.subresource
		}
		out[k]++
	}
	return out
}

// sortedBreakdown formats a breakdown, largest first.
func sortedBreakdown(m map[string]int, per int) string {
	type kv struct {
		k string
		v int
	}
	var kvs []kv
	for k, v := range m {
		kvs = append(kvs, kv{k, v})
	}
	sort.Slice(kvs, func(i, j int) bool {
		if kvs[i].v != kvs[j].v {
			return kvs[i].v > kvs[j].v
		}
		return kvs[i].k < kvs[j].k
	})
	var parts []string
	for _, e := range kvs {
		if per > 0 {
			parts = append(parts, fmt.Sprintf("%s %.2f", e.k, float64(e.v)/float64(per)))
		} else {
			parts = append(parts, fmt.Sprintf("%s %d", e.k, e.v))
		}
	}
	return strings.Join(parts, ", ")
}
