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
	"net/url"
	"testing"
	"time"

	"github.com/mlpipe/mlpipe/pkg/events"
	"github.com/mlpipe/mlpipe/pkg/events/engine"
	"github.com/mlpipe/mlpipe/pkg/receiver"
	"github.com/mlpipe/mlpipe/test/cluster"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	versioned "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
)

// TestS3DirectReceiverExactlyOnce: a real MinIO notifies the direct receiver through its queue dir; the receiver
// creates the PipelineRun on the real API server before it answers 200. With the API server unreachable for a
// few seconds the receiver answers 503, MinIO keeps the event queued and redelivers it, and exactly one
// PipelineRun per object exists in the end; a duplicate delivery adds none.
func TestS3DirectReceiverExactlyOnce(t *testing.T) {
	c := cluster.Start(t, cluster.WithTools("minio"))
	ns := c.NewNamespace(t, true)
	ctx := context.Background()

	// The receiver reaches the API server through a proxy we can switch off.
	apiURL, err := url.Parse(c.Config.Host)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newSwitchProxy(t, apiURL.Host)
	cfg := rest.CopyConfig(c.Config)
	cfg.Host = "https://" + proxy.addr()
	cfg.QPS, cfg.Burst = 50, 100
	cfg.Timeout = 3 * time.Second
	tekton, err := versioned.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	const token = "s3cr3t-token"
	rc := &receiver.Receiver{
		Routes: map[string]*receiver.Route{"/churn": {Target: engine.Target{
			Namespace: ns, Pipeline: "churn",
			Filter:      events.Filter{Bucket: "datasets", Prefix: "churn/", Suffix: ".csv"},
			Credentials: &engine.StaticAuth{Token: []byte(token)},
		}}},
		Engine: &engine.Engine{Tekton: tekton}, CreateTimeout: 2 * time.Second,
	}
	addr := serveHTTP(t, rc)

	m := startNotifyingMinIO(t, c.Tools.MinIO, "http://"+addr+"/churn", token)
	m.bucket(t, "datasets", "churn/")

	runs := func() []v1.PipelineRun {
		list, err := c.Tekton.TektonV1().PipelineRuns(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return list.Items
	}
	waitRuns := func(n int, within time.Duration) []v1.PipelineRun {
		deadline := time.Now().Add(within)
		for {
			items := runs()
			if len(items) >= n || time.Now().After(deadline) {
				return items
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	m.put(t, "datasets", "churn/2024 report+final.csv", "a,b\n1,2\n")
	items := waitRuns(1, 20*time.Second)
	if len(items) != 1 {
		t.Fatalf("%d PipelineRuns after one upload, want 1", len(items))
	}
	pr := items[0]
	if got := pr.Spec.Params[0]; got.Name != "data-uri" || got.Value.StringVal != "s3://datasets/churn/2024 report+final.csv" {
		t.Errorf("param %+v", got)
	}
	if pr.Labels["tekton.dev/pipeline"] != "churn" || pr.Labels["mlpipe.dev/trigger"] != "s3" {
		t.Errorf("labels %v", pr.Labels)
	}

	// The API server goes away; MinIO's delivery fails with 503 and stays in its queue.
	proxy.set(false)
	m.put(t, "datasets", "churn/second.csv", "a,b\n3,4\n")
	time.Sleep(5 * time.Second)
	if n := len(runs()); n != 1 {
		t.Fatalf("%d runs while the API server was unreachable, want 1", n)
	}
	proxy.set(true)
	items = waitRuns(2, 30*time.Second)
	time.Sleep(4 * time.Second) // give MinIO time to redeliver anything else it still holds
	items = runs()
	if len(items) != 2 {
		t.Fatalf("%d PipelineRuns after the outage, want exactly 2 (one per object)", len(items))
	}
	t.Logf("runs: %s, %s", items[0].Name, items[1].Name)
}
