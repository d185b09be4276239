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

package interceptor

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/mlpipe/mlpipe/pkg/events/engine"
	listers "github.com/tektoncd/pipeline/pkg/client/listers/pipeline/v1"
	"google.golang.org/grpc/codes"
	"k8s.io/client-go/tools/cache"
)

// TestProcessForbidBurst: 50 concurrent notifications for distinct objects under Forbid, with a cache that shows
// no run (Triggers has not created it yet, or the watch lags): exactly one is handed on (Continue), the 49 others
// are answered FailedPrecondition "nothing to start" with Forbid's reason naming that run, so the EventListener
// creates nothing for them.
func TestProcessForbidBurst(t *testing.T) {
	data, err := os.ReadFile("testdata/minio-put-spaces-plus.json")
	if err != nil {
		t.Fatal(err)
	}
	idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	ic := New(secrets{"ml/churn-s3-webhook/token": "s3cr3t-token"}, &engine.Engine{Runs: listers.NewPipelineRunLister(idx)}, nil)
	auth := map[string][]string{"Authorization": {"Bearer s3cr3t-token"}}

	var mu sync.Mutex
	var winners []string
	var losers []string
	var wg sync.WaitGroup
	for i := range 50 {
		body := strings.Replace(string(data), "b282d9f61f8444d101d92c50705aa1bd", fmt.Sprintf("e%d", i), 1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp := ic.Process(context.Background(), request(t, body, auth, params("concurrencyPolicy", "Forbid")))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case resp.Continue:
				winners = append(winners, resp.Extensions[ExtensionsKey].(map[string]interface{})["runName"].(string))
			case resp.Status.Code == codes.FailedPrecondition:
				losers = append(losers, resp.Status.Message)
			default:
				t.Errorf("unexpected answer %+v", resp.Status)
			}
		}()
	}
	wg.Wait()
	if len(winners) != 1 || len(losers) != 49 {
		t.Fatalf("%d handed on and %d refused, want 1 and 49", len(winners), len(losers))
	}
	for _, msg := range losers {
		if !strings.HasPrefix(msg, "nothing to start: s3://uploads/incoming/2024 report+final.csv: concurrencyPolicy Forbid: 1 run(s) still active (["+winners[0]+"])") {
			t.Fatalf("refusal %q does not name the admitted run %s", msg, winners[0])
		}
	}
}
