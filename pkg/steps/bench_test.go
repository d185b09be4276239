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
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mlpipe/mlpipe/pkg/ml"
	"github.com/mlpipe/mlpipe/pkg/steps/synth"
)

// benchDataset preprocesses a synthetic churn table of n rows into dir and returns the dataset directory.
func benchDataset(b *testing.B, n int) string {
	b.Helper()
	dir := b.TempDir()
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write(synth.Header)
	_ = w.WriteAll(synth.Churn(n, 1))
	raw := filepath.Join(dir, "raw.csv")
	if err := os.WriteFile(raw, buf.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	ds := filepath.Join(dir, "ds")
	if _, err := Preprocess(context.Background(), &PreprocessOptions{
		Data: raw, Label: "churned", Out: ds, TestFraction: 0.2, Seed: 42, MaxCategories: 50,
	}, io.Discard); err != nil {
		b.Fatal(err)
	}
	return ds
}

// peakRSSMB returns the process's peak resident set size (VmHWM) in MB, or 0 where /proc is unavailable.
func peakRSSMB() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// BenchmarkTrain runs the whole train step (read the dataset, 20 epochs of mini-batch gradient descent, write the
// model) on a 100,000-row synthetic set (80,000 training rows after the split). rows/s counts training rows times
// epochs per second.
func BenchmarkTrain(b *testing.B) {
	ds := benchDataset(b, 100_000)
	out := b.TempDir()
	h := ml.DefaultFitOptions()
	h.Optimizer, h.Epochs, h.LearningRate, h.ValidationFraction = ml.OptimizerSGD, 20, 0.1, 0 // all 20 epochs on all rows
	var rows int
	runtime.GC()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t, err := Train(context.Background(), &TrainOptions{Dataset: ds, Out: out, Hyper: h}, io.Discard)
		if err != nil {
			b.Fatal(err)
		}
		rows = t.Model.Training.Rows
	}
	b.StopTimer()
	b.ReportMetric(float64(rows*h.Epochs*b.N)/b.Elapsed().Seconds(), "rows/s")
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.Sys)/(1<<20), "go-sys-MB")
	b.ReportMetric(peakRSSMB(), "peak-rss-MB")
}

// benchServer starts the v2 server for a churn model on a loopback port.
func benchServer(b *testing.B) (*httptest.Server, []byte) {
	b.Helper()
	ds := benchDataset(b, 2_000)
	t, err := Train(context.Background(), &TrainOptions{Dataset: ds, Out: b.TempDir(),
		Hyper: ml.FitOptions{Optimizer: ml.OptimizerSGD, Epochs: 5, LearningRate: 0.1, BatchSize: 32, L2: 1e-4, Seed: 42, Patience: 1}}, io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(NewServer(t.Model, "churn", 0))
	body, _ := json.Marshal(map[string]any{"inputs": []map[string]any{{
		"name": "rows", "shape": []int{1, 7}, "datatype": "BYTES",
		"data": []string{"12", "64.5", "2", "month-to-month", "standard", "west", "yes"},
	}}})
	return srv, body
}

func reportLatencies(b *testing.B, lat []time.Duration) {
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	q := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(float64(len(lat))/b.Elapsed().Seconds(), "req/s")
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
}

func inferOnce(b *testing.B, client *http.Client, url string, body []byte) {
	res, err := client.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b.Fatalf("status %d", res.StatusCode)
	}
}

// BenchmarkServe sends single-row infer requests one after another over loopback with keep-alive.
func BenchmarkServe(b *testing.B) {
	srv, body := benchServer(b)
	defer srv.Close()
	client := srv.Client()
	url := srv.URL + "/v2/models/churn/infer"
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		inferOnce(b, client, url, body)
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	reportLatencies(b, lat)
}

// BenchmarkServeParallel sends single-row infer requests from GOMAXPROCS×4 concurrent clients over loopback.
func BenchmarkServeParallel(b *testing.B) {
	srv, body := benchServer(b)
	defer srv.Close()
	client := srv.Client()
	client.Transport.(*http.Transport).MaxIdleConnsPerHost = 64
	url := srv.URL + "/v2/models/churn/infer"
	var mu sync.Mutex
	lat := make([]time.Duration, 0, b.N)
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var local []time.Duration
		for pb.Next() {
			start := time.Now()
			inferOnce(b, client, url, body)
			local = append(local, time.Since(start))
		}
		mu.Lock()
		lat = append(lat, local...)
		mu.Unlock()
	})
	b.StopTimer()
	reportLatencies(b, lat)
}

// benchCSV writes the 20-feature, 3-class numeric CSV of n rows the preprocess benchmark reads.
func benchCSV(b *testing.B, n int) (string, int64) {
	b.Helper()
	path := filepath.Join(b.TempDir(), "numeric.csv")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := synth.WriteNumeric(f, n, 20, 3, 1); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return path, fi.Size()
}

// BenchmarkPreprocess compares the preprocess step with a bare encoding/csv read loop over the same generated
// file (200,000 rows of 20 numeric features and 3 classes, ~34 MB) in the same run: MB/s of each (from
// SetBytes), ns/row, and the process's peak RSS after the step.
func BenchmarkPreprocess(b *testing.B) {
	const rows = 200_000
	path, size := benchCSV(b, rows)
	b.Run("encoding-csv", func(b *testing.B) {
		b.SetBytes(size)
		for i := 0; i < b.N; i++ {
			f, err := os.Open(path)
			if err != nil {
				b.Fatal(err)
			}
			r := csv.NewReader(bufio.NewReaderSize(f, 1<<20))
			r.ReuseRecord = true
			n := 0
			for {
				if _, err := r.Read(); err == io.EOF {
					break
				} else if err != nil {
					b.Fatal(err)
				}
				n++
			}
			_ = f.Close()
			if n != rows+1 {
				b.Fatalf("read %d records, want %d", n, rows+1)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(rows*b.N), "ns/row")
	})
	b.Run("preprocess", func(b *testing.B) {
		b.SetBytes(size)
		for i := 0; i < b.N; i++ {
			p, err := Preprocess(context.Background(), &PreprocessOptions{
				Data: path, Label: "label", Out: filepath.Join(b.TempDir(), "ds"), TestFraction: 0.2, Seed: 42,
				MaxCategories: 50, MaxClasses: 100, Missing: "drop",
			}, io.Discard)
			if err != nil {
				b.Fatal(err)
			}
			if p.Schema.Counts.Rows != rows {
				b.Fatalf("kept %d rows, want %d", p.Schema.Counts.Rows, rows)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(rows*b.N), "ns/row")
		b.ReportMetric(float64(PeakRSS())/(1<<20), "peak-rss-MB")
	})
}
