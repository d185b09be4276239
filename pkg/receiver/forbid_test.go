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
	"strings"
	"sync"
	"testing"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"
)

// withETag is the MinIO put of the spaces-plus object with another ETag: another version of the object, so
// another run name.
func withETag(t *testing.T, etag string) string {
	return strings.Replace(body(t, "minio-put-spaces-plus.json"), "b282d9f61f8444d101d92c50705aa1bd", etag, 1)
}

// TestReceiverForbidBurst: 50 concurrent notifications for distinct objects on a Forbid route, with a cache that
// never shows the created run (the watch lags): every one is answered 200, exactly one run is created, and the 49
// others say they were skipped by Forbid, naming that run.
func TestReceiverForbidBurst(t *testing.T) {
	rc, client, _ := newTestReceiver()
	var mu sync.Mutex
	var created, skipped []Result
	var wg sync.WaitGroup
	for i := range 50 {
		ev := withETag(t, fmt.Sprintf("e%d", i))
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec, resp := post(t, rc, "/forbid", ev, bearer)
			mu.Lock()
			defer mu.Unlock()
			if rec.Code != http.StatusOK || len(resp.Results) != 1 {
				t.Errorf("got %d %+v, want 200 with one result", rec.Code, resp)
				return
			}
			if r := resp.Results[0]; r.Created {
				created = append(created, r)
			} else {
				skipped = append(skipped, r)
			}
		}()
	}
	wg.Wait()
	list, err := client.TektonV1().PipelineRuns("ml").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 || len(created) != 1 || len(skipped) != 49 {
		t.Fatalf("%d runs, %d created and %d skipped answers; want 1, 1 and 49", len(list.Items), len(created), len(skipped))
	}
	for _, r := range skipped {
		if !strings.HasPrefix(r.Skipped, "concurrencyPolicy Forbid: 1 run(s) still active (["+created[0].Run+"])") {
			t.Fatalf("skipped %s: %q, want Forbid's reason naming %s", r.URI, r.Skipped, created[0].Run)
		}
	}
}

// TestReceiverForbidRefusedCreate: a create the API server refuses frees the Forbid slot at once (503, the sender
// retries, and the next object starts); a create that timed out may have happened, so the slot stays taken.
func TestReceiverForbidRefusedCreate(t *testing.T) {
	gr := schema.GroupResource{Group: "tekton.dev", Resource: "pipelineruns"}
	tests := []struct {
		name     string
		err      error
		wantNext bool
	}{
		{name: "forbidden by the API server", err: apierrors.NewForbidden(gr, "x", fmt.Errorf("quota exceeded")), wantNext: true},
		{name: "invalid", err: apierrors.NewInvalid(schema.GroupKind{Group: "tekton.dev", Kind: "PipelineRun"}, "x", nil), wantNext: true},
		{name: "server timeout", err: apierrors.NewServerTimeout(gr, "create", 1), wantNext: false},
		{name: "connection refused", err: fmt.Errorf("dial tcp: connection refused"), wantNext: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc, client, _ := newTestReceiver()
			fails := true
			client.PrependReactor("create", "pipelineruns", func(k8stesting.Action) (bool, runtime.Object, error) {
				if fails {
					fails = false
					return true, nil, tt.err
				}
				return false, nil, nil
			})
			if rec, resp := post(t, rc, "/forbid", withETag(t, "first"), bearer); rec.Code != http.StatusServiceUnavailable {
				t.Fatalf("failing create: %d %+v, want 503", rec.Code, resp)
			}
			rec, resp := post(t, rc, "/forbid", withETag(t, "second"), bearer)
			if rec.Code != http.StatusOK || len(resp.Results) != 1 || resp.Results[0].Created != tt.wantNext {
				t.Fatalf("next object: %d %+v, want 200 with created=%v", rec.Code, resp, tt.wantNext)
			}
			var list *v1.PipelineRunList
			if list, _ = client.TektonV1().PipelineRuns("ml").List(context.Background(), metav1.ListOptions{}); tt.wantNext != (len(list.Items) == 1) {
				t.Errorf("%d runs", len(list.Items))
			}
		})
	}
}
