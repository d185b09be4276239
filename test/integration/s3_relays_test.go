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
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mlpipe/mlpipe/pkg/events/engine"
	"github.com/mlpipe/mlpipe/pkg/receiver"
	"github.com/mlpipe/mlpipe/test/cluster"
)

// TestS3ReceiverAWSRelays: AWS S3 reaches the direct receiver through SNS (Basic credentials, text/plain body,
// a subscription confirmation first, redeliveries) and EventBridge (bearer token). On the real API server each
// object version becomes exactly one PipelineRun, with the object's URI as data-uri.
func TestS3ReceiverAWSRelays(t *testing.T) {
	c := cluster.Start(t)
	ns := c.NewNamespace(t, true)
	ctx := context.Background()
	const token = "s3cr3t-token"
	rc := &receiver.Receiver{
		Routes: map[string]*receiver.Route{"/fraud": {Target: engine.Target{
			Namespace: ns, Pipeline: "fraud",
			Credentials: &engine.StaticAuth{Token: []byte(token)},
		}}},
		Engine: &engine.Engine{Tekton: c.Tekton}, CreateTimeout: 5 * time.Second,
	}
	addr := serveHTTP(t, rc)

	post := func(file, contentType, auth string) (int, receiver.Response) {
		t.Helper()
		body, err := os.ReadFile(filepath.Join("..", "..", "pkg", "events", "testdata", file))
		if err != nil {
			t.Fatal(err)
		}
		req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/fraud", strings.NewReader(string(body)))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("Authorization", auth)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var r receiver.Response
		if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, r
	}
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("sns:"+token))
	bearer := "Bearer " + token

	if code, r := post("sns-subscription-confirmation.json", "text/plain; charset=UTF-8", basic); code != 200 || !r.Test || r.SubscribeURL == "" {
		t.Fatalf("subscription confirmation: %d %+v", code, r)
	}
	for i := 0; i < 3; i++ { // SNS delivers at least once
		if code, r := post("sns-s3-notification.json", "text/plain; charset=UTF-8", basic); code != 200 || len(r.Results) != 1 || r.Results[0].Created != (i == 0) {
			t.Fatalf("SNS delivery %d: %d %+v", i+1, code, r)
		}
	}
	for i := 0; i < 2; i++ {
		if code, r := post("eventbridge-object-created.json", "application/json", bearer); code != 200 || len(r.Results) != 1 || r.Results[0].Created != (i == 0) {
			t.Fatalf("EventBridge delivery %d: %d %+v", i+1, code, r)
		}
	}
	if code, _ := post("sns-s3-notification.json", "text/plain", "Basic "+base64.StdEncoding.EncodeToString([]byte("sns:wrong"))); code != http.StatusUnauthorized {
		t.Errorf("wrong Basic password: %d, want 401", code)
	}

	list, err := c.Tekton.TektonV1().PipelineRuns(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var uris []string
	for _, pr := range list.Items {
		if pr.Spec.PipelineRef == nil || pr.Spec.PipelineRef.Name != "fraud" || pr.Labels["mlpipe.dev/trigger"] != "s3" {
			t.Errorf("PipelineRun %s: pipelineRef %+v labels %v", pr.Name, pr.Spec.PipelineRef, pr.Labels)
		}
		for _, p := range pr.Spec.Params {
			if p.Name == "data-uri" {
				uris = append(uris, p.Value.StringVal)
			}
		}
	}
	sort.Strings(uris)
	want := []string{"s3://amzn-s3-demo-bucket/HappyFace.jpg", "s3://ml-datasets/churn/2026-11-12T00:00:00/train+v2.csv"}
	if strings.Join(uris, " ") != strings.Join(want, " ") {
		t.Errorf("PipelineRuns' data-uri = %q, want one run per object: %q", uris, want)
	}
}
