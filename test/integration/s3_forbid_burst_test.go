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
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mlpipe/mlpipe/pkg/events"
	"github.com/mlpipe/mlpipe/pkg/events/engine"
	"github.com/mlpipe/mlpipe/pkg/policy"
	"github.com/mlpipe/mlpipe/pkg/receiver"
	"github.com/mlpipe/mlpipe/test/cluster"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	tektoninformers "github.com/tektoncd/pipeline/pkg/client/informers/externalversions"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestS3ReceiverForbidBurst: 50 concurrent notifications for 50 distinct objects reach the direct receiver, wired
// as cmd/mlpipe-webhooks wires it (a label-filtered, trimmed informer on the real API server), for a Pipeline under
// Forbid whose run stays active (no node runs its Pod). Every notification is answered 200, exactly one
// PipelineRun exists on the API server, and the 49 others are reported skipped by Forbid, naming that run.
func TestS3ReceiverForbidBurst(t *testing.T) {
	c := cluster.Start(t)
	ns := c.NewNamespace(t, false)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)

	p := &v1.Pipeline{
		ObjectMeta: metav1.ObjectMeta{Name: "churn", Namespace: ns},
		Spec: v1.PipelineSpec{
			Params: []v1.ParamSpec{{Name: "data-uri", Type: v1.ParamTypeString}},
			Tasks: []v1.PipelineTask{{Name: "train", TaskSpec: &v1.EmbeddedTask{TaskSpec: v1.TaskSpec{
				Steps: []v1.Step{{Name: "train", Image: "busybox:placeholder", Script: "#!/bin/sh\nsleep 3600\n"}},
			}}}},
		},
	}
	if _, err := c.Tekton.TektonV1().Pipelines(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	factory := tektoninformers.NewSharedInformerFactoryWithOptions(c.Tekton, 10*time.Minute,
		tektoninformers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = policy.RunSelector }))
	runs := factory.Tekton().V1().PipelineRuns()
	if err := runs.Informer().SetTransform(policy.SlimRun(receiver.DedupKeyAnnotation)); err != nil {
		t.Fatal(err)
	}
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())

	const token = "s3cr3t-token"
	rc := &receiver.Receiver{
		Routes: map[string]*receiver.Route{"/churn": {Target: engine.Target{
			Namespace: ns, Pipeline: "churn", Policy: policy.Forbid,
			Filter:      events.Filter{Bucket: "datasets", Prefix: "churn/", Suffix: ".csv"},
			Credentials: &engine.StaticAuth{Token: []byte(token)},
		}}},
		Engine: &engine.Engine{Tekton: c.Tekton, Runs: runs.Lister()},
	}
	addr := serveHTTP(t, rc)
	url := "http://" + addr + "/churn"

	tmpl, err := os.ReadFile(filepath.Join("..", "..", "pkg", "events", "testdata", "minio-put.json"))
	if err != nil {
		t.Fatal(err)
	}
	notify := func(etag string) (int, receiver.Response) {
		body := strings.Replace(string(tmpl), "e5ebd4c02cefbe7955977c67ada242b7", etag, 1)
		req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
		if err != nil {
			t.Error(err)
			return 0, receiver.Response{}
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return 0, receiver.Response{}
		}
		defer resp.Body.Close()
		var out receiver.Response
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Error(err)
		}
		return resp.StatusCode, out
	}

	var mu sync.Mutex
	var created, skipped []receiver.Result
	var wg sync.WaitGroup
	ready := make(chan struct{})
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-ready
			code, resp := notify(fmt.Sprintf("burst%d", i))
			mu.Lock()
			defer mu.Unlock()
			if code != http.StatusOK || len(resp.Results) != 1 {
				t.Errorf("notification %d: %d %+v, want 200 with one result", i, code, resp)
				return
			}
			if r := resp.Results[0]; r.Created {
				created = append(created, r)
			} else {
				skipped = append(skipped, r)
			}
		}()
	}
	close(ready)
	wg.Wait()
	if len(created) != 1 || len(skipped) != 49 {
		t.Fatalf("%d created and %d skipped answers, want 1 and 49", len(created), len(skipped))
	}
	winner := created[0].Run
	for _, r := range skipped {
		if !strings.HasPrefix(r.Skipped, "concurrencyPolicy Forbid: 1 run(s) still active (["+winner+"])") {
			t.Errorf("skipped %s: %q, want Forbid's reason naming %s", r.DedupKey, r.Skipped, winner)
		}
	}

	// Once Tekton's controller has taken the run up (and the informer shows it), the run is still active and it
	// is the only one on the API server; a later object is skipped for it, now from the cache.
	pr, err := c.WaitForPipelineRun(ctx, ns, winner, func(pr *v1.PipelineRun) (bool, error) {
		return pr.Status.StartTime != nil, nil
	})
	if err != nil {
		t.Fatalf("run %s: %v", winner, err)
	}
	if pr.IsDone() {
		t.Fatalf("run %s ended (%v); the test needs it active", winner, pr.Status.GetCondition("Succeeded"))
	}
	for start := time.Now(); time.Since(start) < 10*time.Second; time.Sleep(50 * time.Millisecond) {
		if got, err := runs.Lister().PipelineRuns(ns).Get(winner); err == nil && got.Status.StartTime != nil {
			break
		}
	}
	code, resp := notify("after")
	if code != http.StatusOK || len(resp.Results) != 1 || resp.Results[0].Created ||
		resp.Results[0].Skipped != "concurrencyPolicy Forbid: 1 run(s) still active (["+winner+"])" {
		t.Errorf("a later object: %d %+v, want 200, skipped by Forbid for %s", code, resp, winner)
	}
	list, err := c.Tekton.TektonV1().PipelineRuns(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 || list.Items[0].Name != winner {
		var names []string
		for _, r := range list.Items {
			names = append(names, r.Name)
		}
		t.Fatalf("PipelineRuns on the API server: %v, want exactly [%s]", names, winner)
	}
}
