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
package e2e

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mlpipe/mlpipe/pkg/localrun"
	"github.com/mlpipe/mlpipe/pkg/spec"
	"github.com/mlpipe/mlpipe/pkg/steps"
	"github.com/mlpipe/mlpipe/test/cluster"
	appsv1 "k8s.io/api/apps/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/apis"
)

// inferRows is an Open Inference Protocol v2 request of the first n rows of the bundled churn CSV (without the
// label), as one BYTES tensor of rows.
func inferRows(t *testing.T, n int) []byte {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "examples", "data", "churn.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	records, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	header := records[0]
	label := -1
	for i, h := range header {
		if h == "churned" {
			label = i
		}
	}
	var rows [][]string
	for _, r := range records[1 : n+1] {
		row := append(append([]string{}, r[:label]...), r[label+1:]...)
		rows = append(rows, row)
	}
	body, err := json.Marshal(map[string]any{"inputs": []map[string]any{{
		"name": "rows", "shape": []int{len(rows), len(header) - 1}, "datatype": "BYTES", "data": rows,
	}}})
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// predict posts an infer request and returns the predicted classes.
func predict(client *http.Client, url string, body []byte) ([]any, error) {
	resp, err := client.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out steps.InferResponse
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("%s: %w", resp.Status, err)
	}
	if resp.StatusCode != http.StatusOK || len(out.Outputs) == 0 {
		return nil, fmt.Errorf("%s: %+v", resp.Status, out)
	}
	classes, _ := out.Outputs[0].Data.([]any)
	return classes, nil
}

// localPredictions serves the model of a local run (trained by `mlpipe run`'s runner) on this machine with the
// same server code and returns its classes for the infer request body.
func localPredictions(t *testing.T, res *localrun.Result, body []byte) []any {
	t.Helper()
	m, _, err := steps.LoadModel(context.Background(), res.Task("train").Results["model-uri"])
	if err != nil {
		t.Fatal(err)
	}
	local := httptest.NewServer(steps.NewServer(m, "churn", 0))
	defer local.Close()
	want, err := predict(&http.Client{Timeout: 5 * time.Second}, local.URL+"/v2/models/churn/infer", body)
	if err != nil {
		t.Fatal(err)
	}
	return want
}

// readyEndpoints lists the ready addresses of a Service's EndpointSlices, as kube-proxy routes to them (the
// node has no kube-proxy: the test balances over them itself).
func readyEndpoints(ctx context.Context, c *cluster.Cluster, ns, svc string) []string {
	slices, err := c.Kube.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + svc})
	if err != nil {
		return nil
	}
	var out []string
	for _, s := range slices.Items {
		for _, ep := range s.Endpoints {
			if ep.Conditions.Ready != nil && *ep.Conditions.Ready && len(ep.Addresses) > 0 {
				out = append(out, ep.Addresses[0])
			}
		}
	}
	return out
}

// TestRealNodeServeKubernetes: the churn example with deploy.kubernetes, applied and started with tkn, serves
// its registered model from a real Pod: an infer request for the first 40 rows returns the classes the model of
// `mlpipe run` predicts for them. A second run of another model that passes the gate rolls the Deployment to the
// new version while a request loop (at most 3000 requests, 4 minutes) keeps asking: no request fails.
func TestRealNodeServeKubernetes(t *testing.T) {
	c := realNode(t)
	e := newChurnEnv(t, c)
	e.generate(t, func(s *spec.MLPipeline) {
		clusterSpec(e)(s)
		s.Spec.Deploy = &spec.Deploy{Kubernetes: &spec.Kubernetes{Name: "churn"}}
	})
	ctx := context.Background()
	first, _ := e.wait(t, e.start(t))
	if !first.Status.GetCondition(apis.ConditionSucceeded).IsTrue() {
		e.logRun(t, first.Name)
		t.Fatalf("first run: %s", condition(first.Status.GetCondition(apis.ConditionSucceeded)))
	}
	deployment := func() *appsv1.Deployment {
		d, err := c.Kube.AppsV1().Deployments(e.ns).Get(ctx, "churn", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("the deploy step made no Deployment: %v", err)
		}
		return d
	}
	d := deployment()
	if d.Status.ReadyReplicas != 1 {
		t.Fatalf("Deployment churn: %d ready replicas after deploy succeeded", d.Status.ReadyReplicas)
	}
	eps := readyEndpoints(ctx, c, e.ns, "churn")
	if len(eps) == 0 {
		t.Fatal("Service churn has no ready endpoint")
	}
	body := inferRows(t, 40)
	client := &http.Client{Timeout: 5 * time.Second}
	got, err := predict(client, "http://"+eps[0]+":8080/v2/models/churn/infer", body)
	if err != nil {
		t.Fatalf("infer request to the served model: %v", err)
	}

	// The same rows through mlpipe run's model, served by the same code on this machine.
	want := localPredictions(t, localRun(t, e), body)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("classes of the served model differ from mlpipe run's model (-local +served):\n%s", diff)
	}
	t.Logf("served model at %s answered 40 rows as mlpipe run's model does", eps[0])

	// A rollout under load: requests go to a random ready endpoint, as through the Service.
	var sent, failed atomic.Int64
	var mu sync.Mutex
	var failures []string
	seen := map[string]bool{}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		deadline := time.Now().Add(4 * time.Minute)
		for sent.Load() < 3000 && time.Now().Before(deadline) {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			eps := readyEndpoints(ctx, c, e.ns, "churn")
			if len(eps) == 0 {
				failed.Add(1)
				mu.Lock()
				failures = append(failures, "no ready endpoint")
				mu.Unlock()
				continue
			}
			ep := eps[rand.Intn(len(eps))]
			sent.Add(1)
			if _, err := predict(client, "http://"+ep+":8080/v2/models/churn/infer", body); err != nil {
				failed.Add(1)
				mu.Lock()
				failures = append(failures, ep+": "+err.Error())
				mu.Unlock()
			}
			mu.Lock()
			seen[ep] = true
			mu.Unlock()
		}
	}()
	// The same data and params train the same model, which ties with the first run's champion and a tie never
	// passes the gate: the second run registers into an empty registry (tkn takes the last -p model-store).
	second, _ := e.wait(t, e.start(t, "model-store="+e.store()+"-second"))
	time.Sleep(3 * time.Second) // the old Pod's drain
	close(stop)
	<-done
	if !second.Status.GetCondition(apis.ConditionSucceeded).IsTrue() {
		e.logRun(t, second.Name)
		t.Fatalf("second run: %s", condition(second.Status.GetCondition(apis.ConditionSucceeded)))
	}
	d2 := deployment()
	v1uri, v2uri := d.Spec.Template.Annotations["mlpipe.dev/model-uri"], d2.Spec.Template.Annotations["mlpipe.dev/model-uri"]
	t.Logf("rollout %s -> %s: %d requests to %d Pods, %d failed", v1uri, v2uri, sent.Load(), len(seen), failed.Load())
	if v1uri == v2uri || v2uri == "" {
		t.Errorf("the second run did not roll the Deployment to a new version (%q -> %q)", v1uri, v2uri)
	}
	if d2.Status.UpdatedReplicas != 1 || d2.Status.ReadyReplicas != 1 || d2.Status.Replicas != 1 {
		t.Errorf("Deployment after the rollout: %+v", d2.Status)
	}
	if failed.Load() > 0 {
		t.Errorf("%d of %d requests failed during the rollout: %v", failed.Load(), sent.Load(), failures)
	}
	if len(seen) < 2 || sent.Load() < 20 {
		t.Errorf("the request loop reached %d Pods with %d requests: it did not span the rollout", len(seen), sent.Load())
	}
}

// TestRealNodeServeLoadFails: a model the predictor cannot load fails deploy, on both targets, with the
// predictor's own error quoted: the container's termination message, which the deploy step reads from the Pod
// (kubernetes, and kserve before KServe notices) or from the status KServe's controller wrote. deploy never opens
// the model itself, so the read error can only come from the predictor's container.
func TestRealNodeServeLoadFails(t *testing.T) {
	c := realNode(t)
	for _, target := range []string{steps.TargetKubernetes, steps.TargetKServe} {
		t.Run(target, func(t *testing.T) {
			if target == steps.TargetKServe {
				startKServe(t, c)
			}
			ns := c.NewNamespace(t, true)
			const uri = "file:///models/absent/model.json"
			o := &steps.DeployOptions{Target: target, ModelURI: uri, Name: "broken", Namespace: ns,
				Image: c.Images.Step.Ref, Replicas: 1, Timeout: 3 * time.Minute, PollInterval: time.Second}
			start := time.Now()
			_, err := steps.Deploy(context.Background(), o, c.Dynamic, io.Discard, io.Discard)
			t.Logf("%s: deploy failed after %s: %v", target, time.Since(start).Round(time.Second), err)
			if err == nil {
				t.Fatal("deploy of a model that does not exist succeeded")
			}
			for _, want := range []string{"predictor broken-", "error reading model: " + uri + ": object does not exist"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("deploy's error does not quote the predictor's %q: %v", want, err)
				}
			}
			if strings.Contains(err.Error(), "within") {
				t.Errorf("deploy waited for its timeout instead of reporting the failed load: %v", err)
			}
		})
	}
}
