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
	"github.com/mlpipe/mlpipe/pkg/generate"
	"github.com/mlpipe/mlpipe/pkg/policy"
	"github.com/mlpipe/mlpipe/pkg/receiver"
	"github.com/mlpipe/mlpipe/test/cluster"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	tektoninformers "github.com/tektoncd/pipeline/pkg/client/informers/externalversions"
	tektonlisters "github.com/tektoncd/pipeline/pkg/client/listers/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
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

	createActivePipeline(t, c, ns, "churn")
	runs := webhooksRunLister(t, c)

	const token = "s3cr3t-token"
	rc := &receiver.Receiver{
		Routes: map[string]*receiver.Route{"/churn": {Target: engine.Target{
			Namespace: ns, Pipeline: "churn", Policy: policy.Forbid,
			Filter:      events.Filter{Bucket: "datasets", Prefix: "churn/", Suffix: ".csv"},
			Credentials: &engine.StaticAuth{Token: []byte(token)},
		}}},
		Engine: &engine.Engine{Tekton: c.Tekton, Runs: runs},
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
		if got, err := runs.PipelineRuns(ns).Get(winner); err == nil && got.Status.StartTime != nil {
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

// createActivePipeline creates a Pipeline whose runs stay active: its one Task's Pod is never run (the cluster has
// no node). It takes the param and the workspace the generated TriggerTemplate binds.
func createActivePipeline(t *testing.T, c *cluster.Cluster, ns, name string) {
	t.Helper()
	p := &v1.Pipeline{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: v1.PipelineSpec{
			Params:     []v1.ParamSpec{{Name: "data-uri", Type: v1.ParamTypeString}},
			Workspaces: []v1.PipelineWorkspaceDeclaration{{Name: "artifacts", Optional: true}},
			Tasks: []v1.PipelineTask{{Name: "train", TaskSpec: &v1.EmbeddedTask{TaskSpec: v1.TaskSpec{
				Steps: []v1.Step{{Name: "train", Image: "busybox:placeholder", Script: "#!/bin/sh\nsleep 3600\n"}},
			}}}},
		},
	}
	if _, err := c.Tekton.TektonV1().Pipelines(ns).Create(context.Background(), p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// webhooksRunLister is the PipelineRun cache as cmd/mlpipe-webhooks builds it: runs labelled tekton.dev/pipeline,
// trimmed by policy.SlimRun.
func webhooksRunLister(t *testing.T, c *cluster.Cluster) tektonlisters.PipelineRunLister {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	factory := tektoninformers.NewSharedInformerFactoryWithOptions(c.Tekton, 10*time.Minute,
		tektoninformers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = policy.RunSelector }))
	runs := factory.Tekton().V1().PipelineRuns()
	if err := runs.Informer().SetTransform(policy.SlimRun(receiver.DedupKeyAnnotation)); err != nil {
		t.Fatal(err)
	}
	factory.Start(ctx.Done())
	for typ, ok := range factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			t.Fatalf("the %v informer did not sync", typ)
		}
	}
	return runs.Lister()
}

// TestS3TriggersForbidBurst: 50 concurrent notifications for 50 distinct objects reach Tekton Triggers' real
// EventListener sink, whose Trigger (generated with concurrencyPolicy Forbid) calls mlpipe's interceptor, which
// reads the runs from a cache built as cmd/mlpipe-webhooks builds it. The sink answers 202 to each; the
// interceptor hands on one object and refuses 49 (FailedPrecondition, Forbid's reason); exactly one PipelineRun
// exists on the API server and stays active.
func TestS3TriggersForbidBurst(t *testing.T) {
	s3SinkBin(t)
	c := cluster.Start(t, cluster.WithTriggers())
	ns := c.NewNamespace(t, false)
	ctx := context.Background()
	s := s3Spec(t, ns)
	s.Spec.Triggers.S3.ConcurrencyPolicy = "Forbid"
	_, files := s3Generated(t, s)
	if !strings.Contains(string(files["triggers/trigger.yaml"]), "- name: concurrencyPolicy\n          value: \"Forbid\"") {
		t.Fatalf("the generated Trigger has no concurrencyPolicy Forbid:\n%s", files["triggers/trigger.yaml"])
	}
	createActivePipeline(t, c, ns, s3Pipeline)
	// The runs run as the generated runner ServiceAccount (its RBAC is in the generated rbac.yaml, not needed here).
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: generate.RunnerServiceAccount(s), Namespace: ns}}
	if _, err := c.Kube.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	si := s3ListenInterceptor(t)
	si.Runs = webhooksRunLister(t, c)
	s3ApplyTriggers(t, c, ns, files, si.URL, nil)
	si.serve(t, c, 50)
	listener := s3Pipeline + "-s3"
	sink := s3StartSink(t, s3ServiceAccountKubeconfig(t, c, ns, s3Pipeline+"-s3-listener"), ns, listener, 50)

	client := &http.Client{Timeout: 20 * time.Second}
	var wg sync.WaitGroup
	ready := make(chan struct{})
	for i := range 50 {
		body := s3MinioBody(s3Bucket, fmt.Sprintf("%sburst-%d.csv", s3Prefix, i), fmt.Sprintf("%032x", i+1), fmt.Sprintf("18EBD22EA0148%03X", i))
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-ready
			if code, err := s3Deliver(client, sink.URL, s3Token, body); err != nil || code != http.StatusAccepted {
				t.Errorf("delivery %d: %d %v, want 202", i, code, err)
			}
		}()
	}
	close(ready)
	wg.Wait()
	si.waitCalls(t, 50, 60*time.Second)

	for start := time.Now(); time.Since(start) < 30*time.Second; time.Sleep(100 * time.Millisecond) {
		l, err := c.Tekton.TektonV1().PipelineRuns(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(l.Items) > 0 {
			break
		}
	}
	time.Sleep(2 * time.Second) // the sink creates right after the interceptor's answer: let any second run appear
	list, err := c.Tekton.TektonV1().PipelineRuns(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 {
		var names []string
		for _, r := range list.Items {
			names = append(names, r.Name)
		}
		t.Fatalf("PipelineRuns on the API server after the burst: %v, want exactly one", names)
	}
	winner := list.Items[0].Name
	pr, err := c.WaitForPipelineRun(ctx, ns, winner, func(pr *v1.PipelineRun) (bool, error) { return pr.Status.StartTime != nil, nil })
	if err != nil {
		t.Fatal(err)
	}
	if pr.IsDone() {
		t.Fatalf("run %s ended (%v); the test needs it active", winner, pr.Status.GetCondition("Succeeded"))
	}
	t.Logf("the one run: %s", winner)
}
