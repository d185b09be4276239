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

package integration

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mlpipe/mlpipe/pkg/events"
	"github.com/mlpipe/mlpipe/pkg/events/engine"
	"github.com/mlpipe/mlpipe/pkg/receiver"
	"github.com/mlpipe/mlpipe/test/cluster"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	versioned "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	tektoninformers "github.com/tektoncd/pipeline/pkg/client/informers/externalversions"
	tektonlisters "github.com/tektoncd/pipeline/pkg/client/listers/pipeline/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

// Knobs of the S3 benchmarks (environment variables, for hack/bench-s3.sh).
const (
	envBenchEvents      = "MLPIPE_BENCH_S3_EVENTS"      // distinct objects per path (default 1000)
	envBenchDuplicates  = "MLPIPE_BENCH_S3_DUPLICATES"  // deliveries of one notification per path (default 1000)
	envBenchQPS         = "MLPIPE_BENCH_S3_QPS"         // client QPS of the sink and the receiver (default 50; burst 2x)
	envBenchConcurrency = "MLPIPE_BENCH_S3_CONCURRENCY" // concurrent senders (default 32)
)

func s3EnvInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// s3RunLister returns a synced lister of the PipelineRuns in ns, on the admin client (its
// list/watch does not count against the receiver's QPS, as a separate informer client would not).
func s3RunLister(b *testing.B, c *cluster.Cluster, ns string) tektonlisters.PipelineRunLister {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	f := tektoninformers.NewSharedInformerFactoryWithOptions(c.Tekton, 0, tektoninformers.WithNamespace(ns))
	runs := f.Tekton().V1().PipelineRuns()
	inf := runs.Informer()
	f.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		b.Fatal("PipelineRun informer did not sync")
	}
	return runs.Lister()
}

// s3Arrivals records when each PipelineRun first shows up in a watch, keyed namespace/name.
type s3Arrivals struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

func s3WatchArrivals(b *testing.B, c *cluster.Cluster) *s3Arrivals {
	b.Helper()
	a := &s3Arrivals{seen: map[string]time.Time{}}
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	f := tektoninformers.NewSharedInformerFactory(c.Tekton, 0)
	inf := f.Tekton().V1().PipelineRuns().Informer()
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: func(obj any) {
		now := time.Now()
		if pr, ok := obj.(*v1.PipelineRun); ok {
			a.mu.Lock()
			if _, ok := a.seen[pr.Namespace+"/"+pr.Name]; !ok {
				a.seen[pr.Namespace+"/"+pr.Name] = now
			}
			a.mu.Unlock()
		}
	}}); err != nil {
		b.Fatal(err)
	}
	f.Start(ctx.Done())
	f.WaitForCacheSync(ctx.Done())
	return a
}

// wait waits until every name in ns has arrived and returns their arrival times.
func (a *s3Arrivals) wait(b *testing.B, ns string, names []string, within time.Duration) []time.Time {
	b.Helper()
	deadline := time.Now().Add(within)
	out := make([]time.Time, len(names))
	for {
		missing := 0
		a.mu.Lock()
		for i, n := range names {
			t, ok := a.seen[ns+"/"+n]
			if !ok {
				missing++
			}
			out[i] = t
		}
		a.mu.Unlock()
		if missing == 0 {
			return out
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d PipelineRuns in %s not created within %s", missing, len(names), ns, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// s3SendResult is one delivery's outcome.
type s3SendResult struct {
	start, end time.Time
	code       int
	err        error
}

// s3SendAll delivers bodies with conc concurrent senders; after (optional) sees each outcome as it comes.
func s3SendAll(client *http.Client, target, token string, bodies [][]byte, conc int, after func(s3SendResult)) []s3SendResult {
	res := make([]s3SendResult, len(bodies))
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(bodies) {
					return
				}
				res[i].start = time.Now()
				res[i].code, res[i].err = s3Deliver(client, target, token, bodies[i])
				res[i].end = time.Now()
				if after != nil {
					after(res[i])
				}
			}
		}()
	}
	wg.Wait()
	return res
}

func s3P99(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[(len(ds)*99+99)/100-1]
}

// s3PathFigures are one path's measurements.
type s3PathFigures struct {
	eventsPerSec, p99ms, dupPerSec float64
	runs, dupRuns                  int
}

// s3Path is one way a notification becomes a PipelineRun.
type s3Path struct {
	name, ns, url string
	// runName is the run a body must produce.
	runName func(body []byte) string
	// sink is set for the Triggers paths (which answer 202 before creating anything).
	sink *s3ElSink
}

func s3BenchBodies(tag string, n int) [][]byte {
	bodies := make([][]byte, n)
	for i := range bodies {
		bodies[i] = s3MinioBody(s3Bucket, fmt.Sprintf("fraud/%s/part-%05d.csv", tag, i),
			fmt.Sprintf("%08x%024x", uint32(time.Now().UnixNano()), i), fmt.Sprintf("18EBD22E%08X", i))
	}
	return bodies
}

// s3Measure sends n distinct objects, then dups deliveries of one more, through p, and counts the runs.
func s3Measure(b *testing.B, c *cluster.Cluster, a *s3Arrivals, p *s3Path, n, dups, conc int) s3PathFigures {
	b.Helper()
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: conc, MaxConnsPerHost: conc}}
	tag := fmt.Sprintf("%s-%d", p.name, time.Now().UnixNano())
	bodies := s3BenchBodies(tag, n)
	names := make([]string, n)
	for i, body := range bodies {
		names[i] = p.runName(body)
	}
	before := len(s3ListRuns(b, c, p.ns))

	// Distinct objects: throughput and latency from send to the run seen in a watch.
	start := time.Now()
	res := s3SendAll(client, p.url, s3Token, bodies, conc, nil)
	want := http.StatusOK
	if p.sink != nil {
		want = http.StatusAccepted
	}
	for i, r := range res {
		if r.err != nil || r.code != want {
			b.Fatalf("%s: delivery %d: %d %v", p.name, i, r.code, r.err)
		}
	}
	arrived := a.wait(b, p.ns, names, 150*time.Second)
	last := start
	lat := make([]time.Duration, n)
	for i, t := range arrived {
		if t.After(last) {
			last = t
		}
		lat[i] = t.Sub(res[i].start)
	}
	f := s3PathFigures{eventsPerSec: float64(n) / last.Sub(start).Seconds(), p99ms: float64(s3P99(lat)) / float64(time.Millisecond)}

	// One notification delivered dups times: throughput until every delivery was handled.
	dup := s3BenchBodies(tag+"-dup", 1)[0]
	dupBodies := make([][]byte, dups)
	for i := range dupBodies {
		dupBodies[i] = dup
	}
	exists := 0
	if p.sink != nil {
		exists = p.sink.count(sinkCreateFailed)
	}
	start = time.Now()
	res = s3SendAll(client, p.url, s3Token, dupBodies, conc, nil)
	for i, r := range res {
		if r.err != nil || r.code != want {
			b.Fatalf("%s: duplicate delivery %d: %d %v", p.name, i, r.code, r.err)
		}
	}
	if p.sink != nil {
		// The sink acknowledged them all at once; it is done when it has tried every create.
		p.sink.waitLog(b, sinkCreateFailed, exists+dups-1, 150*time.Second)
	}
	f.dupPerSec = float64(dups) / time.Since(start).Seconds()
	a.wait(b, p.ns, []string{p.runName(dup)}, 10*time.Second)

	time.Sleep(time.Second) // anything still in flight on the sink shows up now
	all := s3ListRuns(b, c, p.ns)
	f.runs = len(all) - before - 1
	f.dupRuns = 0
	for _, pr := range all {
		if pr.Name == p.runName(dup) {
			f.dupRuns++
		}
	}
	if f.runs != n || f.dupRuns != 1 {
		b.Errorf("%s: %d runs for %d distinct objects (want %d), %d for %d duplicate deliveries (want 1)", p.name, f.runs, n, n, f.dupRuns, dups)
	}
	return f
}

func s3ListRuns(b *testing.B, c *cluster.Cluster, ns string) []v1.PipelineRun {
	b.Helper()
	list, err := c.Tekton.TektonV1().PipelineRuns(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		b.Fatal(err)
	}
	return list.Items
}

func s3Report(b *testing.B, f s3PathFigures) {
	b.ReportMetric(f.eventsPerSec, "events/s")
	b.ReportMetric(f.p99ms, "p99-ms")
	b.ReportMetric(f.dupPerSec, "dup-events/s")
	b.ReportMetric(float64(f.runs), "runs")
	b.ReportMetric(float64(f.dupRuns), "dup-runs")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkS3Paths measures, in one run and at the same client limits (MLPIPE_BENCH_S3_QPS for the sink's
// --kube-api-qps and the receiver's rest.Config), how notifications become PipelineRuns on the real API server
// through (1) mlpipe's direct receiver, (2) Tekton Triggers' real EventListener sink without an interceptor
// (run named from the body's ETag by a plain TriggerBinding), (3) the sink with mlpipe's interceptor (the
// s3Generated resources). Each path gets N distinct objects (→ N runs) and N deliveries of one notification
// (→ 1 run). events/s is N over the time from the first send until the last run appeared in a watch; p99-ms is
// the 99th percentile of send → run seen. The "ratios" sub-benchmark reports receiver/sink and
// sink+interceptor/sink throughput.
func BenchmarkS3Paths(b *testing.B) {
	s3SinkBin(b)
	n := s3EnvInt(envBenchEvents, 1000)
	dups := s3EnvInt(envBenchDuplicates, 1000)
	qps := s3EnvInt(envBenchQPS, 50)
	conc := s3EnvInt(envBenchConcurrency, 32)
	c := cluster.Start(b, cluster.WithTriggers())
	ctx := context.Background()
	a := s3WatchArrivals(b, c)
	b.Logf("%d distinct objects and %d duplicate deliveries per path, client QPS %d (burst %d), %d concurrent senders",
		n, dups, qps, 2*qps, conc)

	// The receiver, in-process, with the generated sample PipelineRun as its template.
	recvNS, err := c.CreateNamespace(ctx, "s3-bench-receiver", false)
	if err != nil {
		b.Fatal(err)
	}
	recvSpec := s3Spec(b, recvNS)
	out, _ := s3Generated(b, recvSpec)
	cfg := rest.CopyConfig(c.Config)
	cfg.QPS, cfg.Burst = float32(qps), 2*qps
	tekton, err := versioned.NewForConfig(cfg)
	if err != nil {
		b.Fatal(err)
	}
	s3 := recvSpec.Spec.Triggers.S3
	rc := &receiver.Receiver{
		Routes: map[string]*receiver.Route{"/" + s3Pipeline: {
			Target: engine.Target{
				Namespace: recvNS, Pipeline: s3Pipeline,
				Filter:      events.Filter{Bucket: s3.Bucket, Prefix: s3.Prefix, Suffix: s3.Suffix, Events: s3.Events},
				Credentials: &engine.StaticAuth{Token: []byte(s3Token)},
			},
			Template: out.PipelineRun,
		}},
		// As cmd/mlpipe-webhooks does: an informer's cache answers redeliveries without an API call.
		Engine: &engine.Engine{Tekton: tekton, Runs: s3RunLister(b, c, recvNS)},
	}
	addr := serveHTTP(b, rc)
	mlpipeName := func(body []byte) string { name, _ := s3RunNameFor(b, body); return name }

	// The two Triggers paths, each with its own namespace, EventListener and sink process.
	si := s3ListenInterceptor(b)
	rawNS, err := c.CreateNamespace(ctx, "s3-bench-sink", false)
	if err != nil {
		b.Fatal(err)
	}
	_, rawFiles := s3Generated(b, s3Spec(b, rawNS))
	s3ApplyTriggers(b, c, rawNS, rawFiles, si.URL, s3WithoutInterceptor)
	icNS, err := c.CreateNamespace(ctx, "s3-bench-sink-interceptor", false)
	if err != nil {
		b.Fatal(err)
	}
	_, icFiles := s3Generated(b, s3Spec(b, icNS))
	s3ApplyTriggers(b, c, icNS, icFiles, si.URL, nil)
	si.serve(b, c, float32(qps))
	listener := s3Pipeline + "-s3"
	sa := s3Pipeline + "-s3-listener"
	rawSink := s3StartSink(b, s3ServiceAccountKubeconfig(b, c, rawNS, sa), rawNS, listener, float64(qps))
	icSink := s3StartSink(b, s3ServiceAccountKubeconfig(b, c, icNS, sa), icNS, listener, float64(qps))

	paths := []*s3Path{
		{name: "receiver", ns: recvNS, url: "http://" + addr + "/" + s3Pipeline, runName: mlpipeName},
		{name: "sink", ns: rawNS, url: rawSink.URL, sink: rawSink, runName: func(body []byte) string {
			_, o := s3RunNameFor(b, body)
			return s3Pipeline + "-raw-" + o.ETag
		}},
		{name: "sink+interceptor", ns: icNS, url: icSink.URL, sink: icSink, runName: mlpipeName},
	}
	figures := map[string]s3PathFigures{}
	for _, p := range paths {
		b.Run(p.name, func(b *testing.B) {
			var f s3PathFigures
			for i := 0; i < b.N; i++ {
				f = s3Measure(b, c, a, p, n, dups, conc)
			}
			figures[p.name] = f
			s3Report(b, f)
		})
	}
	b.Run("ratios", func(b *testing.B) {
		sink := figures["sink"].eventsPerSec
		if sink == 0 {
			b.Skip("no sink figures")
		}
		b.ReportMetric(figures["receiver"].eventsPerSec/sink, "receiver/sink")
		b.ReportMetric(figures["sink+interceptor"].eventsPerSec/sink, "sink+interceptor/sink")
		if d := figures["sink"].dupPerSec; d > 0 {
			b.ReportMetric(figures["receiver"].dupPerSec/d, "dup-receiver/sink")
			b.ReportMetric(figures["sink+interceptor"].dupPerSec/d, "dup-sink+interceptor/sink")
		}
		b.ReportMetric(float64(qps), "client-qps")
		b.ReportMetric(0, "ns/op")
	})
}

// s3WithoutInterceptor turns the generated Trigger into a plain one (no interceptor) and binds the run's params
// straight from the MinIO body, naming the run after the object's ETag: the Triggers path as users build it
// without mlpipe's interceptor, still with a deterministic name so both paths do the same API work.
func s3WithoutInterceptor(u *unstructured.Unstructured) {
	switch u.GetKind() {
	case "Trigger":
		unstructured.RemoveNestedField(u.Object, "spec", "interceptors")
	case "TriggerBinding":
		const rec = "$(body.Records[0].s3."
		params := []any{}
		for _, p := range [][2]string{
			{"bucket", rec + "bucket.name)"},
			{"key", rec + "object.key)"},
			{"uri", "s3://" + rec + "bucket.name)/" + rec + "object.key)"},
			{"etag", rec + "object.eTag)"},
			{"dedup-key", rec + "bucket.name)/" + rec + "object.key)@etag:" + rec + "object.eTag)"},
			{"run-name", s3Pipeline + "-raw-" + rec + "object.eTag)"},
		} {
			params = append(params, map[string]any{"name": p[0], "value": p[1]})
		}
		_ = unstructured.SetNestedSlice(u.Object, params, "spec", "params")
	}
}

// BenchmarkS3ReceiverKill runs the direct receiver as its own process (cmd/mlpipe-webhooks), sends
// MLPIPE_BENCH_S3_KILL_EVENTS (default 400) notifications concurrently, SIGKILLs it once a quarter were
// acknowledged, and checks that every 2xx has its PipelineRun (acknowledged-but-lost must be 0); then it
// restarts the receiver, redelivers everything that was not acknowledged (as MinIO's queue would), and checks
// there is exactly one run per object.
func BenchmarkS3ReceiverKill(b *testing.B) {
	n := s3EnvInt("MLPIPE_BENCH_S3_KILL_EVENTS", 400)
	qps := s3EnvInt(envBenchQPS, 50)
	conc := s3EnvInt(envBenchConcurrency, 32)
	root, dir, bin := s3BuildWebhooks(b)
	c := cluster.Start(b)
	ctx := context.Background()
	ns, err := c.CreateNamespace(ctx, "s3-bench-receiver-kill", false)
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "token"), []byte(s3Token), 0o600); err != nil {
		b.Fatal(err)
	}
	config := fmt.Sprintf("routes:\n- path: /%s\n  namespace: %s\n  pipeline: %s\n  filter: {bucket: %s, prefix: %s}\n  tokenFile: token\n",
		s3Pipeline, ns, s3Pipeline, s3Bucket, s3Prefix)
	if err := os.WriteFile(filepath.Join(dir, "receiver.yaml"), []byte(config), 0o600); err != nil {
		b.Fatal(err)
	}
	start := func() (string, *exec.Cmd, chan struct{}) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		logf, err := os.Create(filepath.Join(dir, fmt.Sprintf("receiver-%d.log", time.Now().UnixNano())))
		if err != nil {
			b.Fatal(err)
		}
		cmd := exec.Command(bin, "--kubeconfig="+c.Kubeconfig, "--interceptor-addr=", "--receiver-addr="+addr,
			"--receiver-config="+filepath.Join(dir, "receiver.yaml"), fmt.Sprintf("--kube-api-qps=%d", qps), fmt.Sprintf("--kube-api-burst=%d", 2*qps))
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); logf.Close(); close(done) }()
		b.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); <-done })
		url := "http://" + addr + "/" + s3Pipeline
		test, err := os.ReadFile(filepath.Join(root, "pkg", "events", "testdata", "aws-test-event.json"))
		if err != nil {
			b.Fatal(err)
		}
		for deadline := time.Now().Add(60 * time.Second); ; {
			if code, err := s3Deliver(http.DefaultClient, url, s3Token, test); err == nil && code == http.StatusOK {
				return url, cmd, done
			}
			select {
			case <-done:
				b.Fatalf("the receiver exited:\n%s", s3Tail(logf.Name(), 30))
			default:
			}
			if time.Now().After(deadline) {
				b.Fatalf("the receiver did not serve:\n%s", s3Tail(logf.Name(), 30))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	for i := 0; i < b.N; i++ {
		bodies := s3BenchBodies(fmt.Sprintf("kill-%d", i), n)
		names := make([]string, n)
		for j, body := range bodies {
			names[j], _ = s3RunNameFor(b, body)
		}
		url, cmd, done := start()
		var acked atomic.Int64
		var killOnce sync.Once
		kill := func() { killOnce.Do(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }) }
		client := &http.Client{Timeout: 30 * time.Second}
		var res []s3SendResult
		sent := make(chan struct{})
		go func() {
			defer close(sent)
			res = s3SendAll(client, url, s3Token, bodies, conc, func(r s3SendResult) {
				if r.err == nil && r.code >= 200 && r.code < 300 && acked.Add(1) >= int64(n/4) {
					kill()
				}
			})
		}()
		<-sent
		kill()
		<-done

		exists := map[string]bool{}
		for _, pr := range s3ListRuns(b, c, ns) {
			exists[pr.Name] = true
		}
		var ok, lost, createdUnacked int
		var redo [][]byte
		for j, r := range res {
			if r.err == nil && r.code >= 200 && r.code < 300 {
				ok++
				if !exists[names[j]] {
					lost++
				}
				continue
			}
			if exists[names[j]] {
				createdUnacked++
			}
			redo = append(redo, bodies[j])
		}
		if lost > 0 {
			b.Errorf("%d acknowledged notifications have no PipelineRun", lost)
		}
		// MinIO's queue redelivers what was not acknowledged, to the restarted receiver.
		url, _, _ = start()
		for j, r := range s3SendAll(client, url, s3Token, redo, conc, nil) {
			if r.err != nil || r.code != http.StatusOK {
				b.Errorf("redelivery %d: %d %v", j, r.code, r.err)
			}
		}
		runs := s3ListRuns(b, c, ns)
		final := 0
		want := map[string]bool{}
		for _, name := range names {
			want[name] = true
		}
		for _, pr := range runs {
			if want[pr.Name] {
				final++
			}
		}
		if final != n {
			b.Errorf("%d runs for %d objects after the redelivery, want exactly %d", final, n, n)
		}
		b.Logf("killed the receiver after %d of %d acknowledged: %d lost, %d created but unacknowledged, %d redelivered, %d runs in the end",
			ok, n, lost, createdUnacked, len(redo), final)
		b.ReportMetric(float64(ok), "acked")
		b.ReportMetric(float64(lost), "acked-lost")
		b.ReportMetric(float64(createdUnacked), "created-unacked")
		b.ReportMetric(float64(len(redo)), "redelivered")
		b.ReportMetric(float64(final), "final-runs")
		b.ReportMetric(float64(n), "objects")
		b.ReportMetric(0, "ns/op")
	}
}

// s3BuildWebhooks builds cmd/mlpipe-webhooks from this tree into a temporary directory and returns the repository
// root, that directory and the binary.
func s3BuildWebhooks(b *testing.B) (root, dir, bin string) {
	root, err := cluster.RepoRoot()
	if err != nil {
		b.Fatal(err)
	}
	dir = b.TempDir()
	bin = filepath.Join(dir, "mlpipe-webhooks")
	build := exec.Command("go", "build", "-o", bin, "./cmd/mlpipe-webhooks")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("building cmd/mlpipe-webhooks: %v\n%s", err, out)
	}
	return root, dir, bin
}
