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
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	versioned "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/mlpipe/mlpipe/test/cluster"
)

// BenchmarkS3WebhooksRSS measures the resident memory of cmd/mlpipe-webhooks (built from this tree, receiver
// only) once its PipelineRun cache has synced, with MLPIPE_BENCH_RSS_RUNS (default 10,000) PipelineRuns of
// other Pipelines in the API server, each with params and a kubectl last-applied-configuration annotation as
// applied runs have. It reports RSS-MiB; with MLPIPE_BENCH_RSS_BASELINE naming another build of the binary (say,
// of an older commit), it measures that one in the same cluster too and reports baseline-RSS-MiB.
func BenchmarkS3WebhooksRSS(b *testing.B) {
	n := s3EnvInt("MLPIPE_BENCH_RSS_RUNS", 10000)
	root, dir, bin := s3BuildWebhooks(b)
	c := cluster.Start(b)
	ctx := context.Background()
	ns, err := c.CreateNamespace(ctx, "s3-rss-unrelated", false)
	if err != nil {
		b.Fatal(err)
	}
	cfg := rest.CopyConfig(c.Config)
	cfg.QPS, cfg.Burst = 1000, 2000
	tekton, err := versioned.NewForConfig(cfg)
	if err != nil {
		b.Fatal(err)
	}
	lastApplied := strings.Repeat("x", 1500)
	var wg sync.WaitGroup
	errc := make(chan error, 16)
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 16 {
				pipeline := fmt.Sprintf("other-%d", i%50)
				pr := &v1.PipelineRun{
					ObjectMeta: metav1.ObjectMeta{
						Name: fmt.Sprintf("%s-run-%d", pipeline, i), Namespace: ns,
						Labels:      map[string]string{"tekton.dev/pipeline": pipeline, "team": "analytics"},
						Annotations: map[string]string{"kubectl.kubernetes.io/last-applied-configuration": lastApplied},
					},
					Spec: v1.PipelineRunSpec{
						PipelineRef: &v1.PipelineRef{Name: pipeline},
						Status:      v1.PipelineRunSpecStatusPending, // Tekton's controller does not start them
						Params: v1.Params{
							{Name: "data-uri", Value: *v1.NewStructuredValues(fmt.Sprintf("s3://warehouse/%s/part-%05d.parquet", pipeline, i))},
							{Name: "epochs", Value: *v1.NewStructuredValues("20")},
						},
					},
				}
				if _, err := tekton.TektonV1().PipelineRuns(ns).Create(ctx, pr, metav1.CreateOptions{}); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		b.Fatalf("creating the unrelated runs: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "token"), []byte(s3Token), 0o600); err != nil {
		b.Fatal(err)
	}
	config := fmt.Sprintf("routes:\n- path: /%s\n  namespace: %s\n  pipeline: %s\n  tokenFile: token\n", s3Pipeline, ns, s3Pipeline)
	if err := os.WriteFile(filepath.Join(dir, "receiver.yaml"), []byte(config), 0o600); err != nil {
		b.Fatal(err)
	}
	test, err := os.ReadFile(filepath.Join(root, "pkg", "events", "testdata", "aws-test-event.json"))
	if err != nil {
		b.Fatal(err)
	}
	measure := func(bin string) float64 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		logf, err := os.CreateTemp(dir, "webhooks-*.log")
		if err != nil {
			b.Fatal(err)
		}
		defer logf.Close()
		cmd := exec.Command(bin, "--kubeconfig="+c.Kubeconfig, "--interceptor-addr=", "--receiver-addr="+addr,
			"--receiver-config="+filepath.Join(dir, "receiver.yaml"))
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		defer func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); _ = cmd.Wait() }()
		// It serves only after the cache has synced.
		for deadline := time.Now().Add(120 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			if code, err := s3Deliver(http.DefaultClient, "http://"+addr+"/"+s3Pipeline, s3Token, test); err == nil && code == http.StatusOK {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("%s did not serve:\n%s", bin, s3Tail(logf.Name(), 30))
			}
		}
		time.Sleep(3 * time.Second)
		rss, err := vmRSS(cmd.Process.Pid)
		if err != nil {
			b.Fatal(err)
		}
		return float64(rss) / 1024
	}
	baseline := os.Getenv("MLPIPE_BENCH_RSS_BASELINE")
	for i := 0; i < b.N; i++ {
		b.ReportMetric(measure(bin), "RSS-MiB")
		if baseline != "" {
			b.ReportMetric(measure(baseline), "baseline-RSS-MiB")
		}
		b.ReportMetric(float64(n), "runs")
	}
}

// vmRSS reads a process's resident set size in KiB from /proc.
func vmRSS(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strconv.ParseInt(strings.Fields(v)[0], 10, 64)
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}
