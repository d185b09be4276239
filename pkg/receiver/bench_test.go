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

package receiver

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// BenchmarkReceiver posts 1,000 distinct objects (1,000 runs) and 1,000 deliveries of one object (1 run)
// through the receiver's HTTP handler with a fake Tekton client, and reports events/s and p99 latency of the
// receiver's own work. The same figures against the real API server come from the integration benchmarks.
func BenchmarkReceiver(b *testing.B) {
	good := body(b, "minio-put-spaces-plus.json")
	for _, mode := range []string{"distinct", "duplicates"} {
		b.Run(mode, func(b *testing.B) {
			for b.Loop() {
				rc, client, _ := newTestReceiver()
				lat := make([]time.Duration, 1000)
				start := time.Now()
				for i := range lat {
					ev := good
					if mode == "distinct" {
						ev = strings.Replace(good, "b282d9f61f8444d101d92c50705aa1bd", fmt.Sprintf("etag%06d", i), 1)
					}
					req := httptest.NewRequest(http.MethodPost, "/churn", strings.NewReader(ev))
					req.Header.Set("Authorization", "Bearer "+token)
					rec := httptest.NewRecorder()
					t0 := time.Now()
					rc.ServeHTTP(rec, req)
					lat[i] = time.Since(t0)
					if rec.Code != 200 {
						b.Fatalf("%d: %s", rec.Code, rec.Body.String())
					}
				}
				elapsed := time.Since(start)
				list, _ := client.TektonV1().PipelineRuns("ml").List(context.Background(), metav1.ListOptions{})
				want := map[string]int{"distinct": 1000, "duplicates": 1}[mode]
				if len(list.Items) != want {
					b.Fatalf("%d runs, want %d", len(list.Items), want)
				}
				sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
				b.ReportMetric(1000/elapsed.Seconds(), "events/s")
				b.ReportMetric(float64(lat[989].Microseconds()), "p99-µs")
				b.ReportMetric(float64(len(list.Items)), "runs")
			}
		})
	}
}
