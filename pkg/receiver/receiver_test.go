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
	"encoding/base64"
	"encoding/json"
	"errors"
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
	"github.com/mlpipe/mlpipe/pkg/events"
	"github.com/mlpipe/mlpipe/pkg/events/engine"
	"github.com/mlpipe/mlpipe/pkg/policy"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/client/clientset/versioned/fake"
	listers "github.com/tektoncd/pipeline/pkg/client/listers/pipeline/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
)

const token = "s3cr3t-token"

func body(t testing.TB, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func newTestReceiver(objs ...runtime.Object) (*Receiver, *fake.Clientset, cache.Indexer) {
	client := fake.NewSimpleClientset(objs...)
	idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	for _, o := range objs {
		_ = idx.Add(o)
	}
	tok := &engine.StaticAuth{Token: []byte(token)}
	route := func(pipeline string, f events.Filter, pol policy.Policy, creds engine.Credentials) *Route {
		return &Route{Target: engine.Target{Namespace: "ml", Pipeline: pipeline, Filter: f, Policy: pol, Credentials: creds}}
	}
	return &Receiver{
		Routes: map[string]*Route{
			"/churn":   route("churn", events.Filter{Bucket: "uploads", Prefix: "incoming/", Suffix: ".csv"}, "", tok),
			"/hmac":    route("churn", events.Filter{}, "", &engine.StaticAuth{HMACKey: []byte("k3y")}),
			"/forbid":  route("churn", events.Filter{}, policy.Forbid, tok),
			"/replace": route("churn", events.Filter{}, policy.Replace, tok),
			"/marker":  route("churn", events.Filter{Prefix: "churn/", Suffix: ".csv", Marker: "_SUCCESS"}, "", tok),
		},
		Engine:       &engine.Engine{Tekton: client, Runs: listers.NewPipelineRunLister(idx)},
		MaxBodyBytes: 16 << 10,
	}, client, idx
}

func post(t testing.TB, h http.Handler, path, body string, hdr map[string]string) (*httptest.ResponseRecorder, Response) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var resp Response
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
		t.Fatalf("response %d is not JSON: %q", rec.Code, rec.Body.String())
	}
	return rec, resp
}

var bearer = map[string]string{"Authorization": "Bearer " + token}

func TestReceiverCreatesOneRun(t *testing.T) {
	rc, client, _ := newTestReceiver()
	ev := body(t, "minio-put-spaces-plus.json")
	rec, resp := post(t, rc, "/churn", ev, bearer)
	if rec.Code != http.StatusOK || len(resp.Results) != 1 || !resp.Results[0].Created {
		t.Fatalf("first delivery: %d %+v", rec.Code, resp)
	}
	name := resp.Results[0].Run
	pr, err := client.TektonV1().PipelineRuns("ml").Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := pr.Spec.Params[0]; got.Name != "data-uri" || got.Value.StringVal != "s3://uploads/incoming/2024 report+final.csv" {
		t.Errorf("param = %+v", got)
	}
	if pr.Labels["tekton.dev/pipeline"] != "churn" || pr.Labels["mlpipe.dev/trigger"] != "s3" || pr.Spec.PipelineRef.Name != "churn" {
		t.Errorf("labels %v, pipelineRef %+v", pr.Labels, pr.Spec.PipelineRef)
	}
	// The same notification again: acknowledged, no second run.
	rec, resp = post(t, rc, "/churn", ev, bearer)
	if rec.Code != http.StatusOK || resp.Results[0].Created || resp.Results[0].Run != name {
		t.Fatalf("duplicate delivery: %d %+v", rec.Code, resp)
	}
	list, _ := client.TektonV1().PipelineRuns("ml").List(context.Background(), metav1.ListOptions{})
	if len(list.Items) != 1 {
		t.Errorf("%d runs, want 1", len(list.Items))
	}
}

func TestReceiverAcknowledgesWithoutRun(t *testing.T) {
	active := &v1.PipelineRun{ObjectMeta: metav1.ObjectMeta{Name: "churn-manual", Namespace: "ml", Labels: map[string]string{"tekton.dev/pipeline": "churn"}}}
	rc, client, _ := newTestReceiver(active)
	tests := []struct {
		name, path, body, skipped string
		test                      bool
	}{
		{"test event", "/churn", body(t, "aws-test-event.json"), "", true},
		{"bucket filtered", "/churn", body(t, "aws-put.json"), "bucket", false},
		{"forbid while a run is active", "/forbid", body(t, "aws-put.json"), "Forbid", false},
		{"not the marker", "/marker", strings.ReplaceAll(body(t, "minio-put-marker.json"), "_SUCCESS", "part-0.csv"), "marker", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, resp := post(t, rc, tt.path, tt.body, bearer)
			if rec.Code != http.StatusOK || resp.Test != tt.test {
				t.Fatalf("%d %+v", rec.Code, resp)
			}
			if !tt.test && (len(resp.Results) != 1 || !strings.Contains(resp.Results[0].Skipped, tt.skipped)) {
				t.Errorf("results %+v, want skipped containing %q", resp.Results, tt.skipped)
			}
		})
	}
	list, _ := client.TektonV1().PipelineRuns("ml").List(context.Background(), metav1.ListOptions{})
	if len(list.Items) != 1 {
		t.Errorf("%d runs, want only the active one", len(list.Items))
	}
	// The marker itself starts a run for its directory.
	rec, resp := post(t, rc, "/marker", body(t, "minio-put-marker.json"), bearer)
	if rec.Code != http.StatusOK || !resp.Results[0].Created || resp.Results[0].URI != "s3://datasets/churn/2024-11-01/" {
		t.Errorf("marker: %d %+v", rec.Code, resp)
	}
}

func TestReceiverReplaceCancelsRunningFinally(t *testing.T) {
	active := &v1.PipelineRun{ObjectMeta: metav1.ObjectMeta{Name: "churn-manual", Namespace: "ml", Labels: map[string]string{"tekton.dev/pipeline": "churn"}}}
	rc, client, _ := newTestReceiver(active)
	rec, resp := post(t, rc, "/replace", body(t, "aws-put.json"), bearer)
	if rec.Code != http.StatusOK || len(resp.Results) != 1 || !resp.Results[0].Created {
		t.Fatalf("%d %+v, want the new run created", rec.Code, resp)
	}
	var patches []string
	for _, a := range client.Actions() {
		if p, ok := a.(k8stesting.PatchAction); ok {
			patches = append(patches, p.GetName()+" "+string(p.GetPatchType())+" "+string(p.GetPatch()))
		}
	}
	want := []string{`churn-manual application/merge-patch+json {"spec":{"status":"CancelledRunFinally"}}`}
	if diff := cmp.Diff(want, patches); diff != "" {
		t.Errorf("patches (-want +got):\n%s", diff)
	}
}

func TestReceiverBadRequests(t *testing.T) {
	rc, client, _ := newTestReceiver()
	good := body(t, "minio-put-spaces-plus.json")
	withKey := func(k string) string { return strings.Replace(good, "incoming%2F2024+report%2Bfinal.csv", k, 1) }
	hmacOK := func(b string) map[string]string {
		return map[string]string{events.SignatureHeader: events.SignatureValue([]byte("k3y"), []byte(b))}
	}
	reserialised := func() string {
		var v any
		_ = json.Unmarshal([]byte(good), &v)
		b, _ := json.Marshal(v)
		return string(b)
	}()
	tests := []struct {
		name, path, body string
		hdr              map[string]string
		code             int
		want             string
	}{
		{"invalid JSON", "/churn", `{"Records":[`, bearer, 400, "invalid JSON"},
		{"not JSON", "/churn", `hello`, bearer, 400, "not a JSON object"},
		{"empty body", "/churn", ``, bearer, 400, "empty"},
		{"no Records", "/churn", `{"EventName":"s3:ObjectCreated:Put"}`, bearer, 400, `no "Records"`},
		{"empty Records", "/churn", `{"Records":[]}`, bearer, 400, `"Records" is empty`},
		{"unknown major eventVersion", "/churn", strings.Replace(good, `"2.0"`, `"3.0"`, 1), bearer, 400, "unsupported eventVersion"},
		{"missing bucket", "/churn", strings.Replace(good, `"name": "uploads",`, ``, 1), bearer, 400, "no bucket name"},
		{"missing key", "/churn", withKey(""), bearer, 400, "no object key"},
		{"key with $(params.x)", "/churn", withKey("incoming%2F%24%28params.x%29.csv"), bearer, 400, "contains '$'"},
		{"key with $(tt.params.uri)", "/churn", withKey("incoming%2F%24%28tt.params.uri%29.csv"), bearer, 400, "contains '$'"},
		{"key with ; rm -rf /", "/churn", withKey("incoming%2Fa%3B+rm+-rf+%2F"), bearer, 400, "contains ';'"},
		{"key with backticks", "/churn", withKey("incoming%2F%60reboot%60.csv"), bearer, 400, "contains '`'"},
		{"key with ../", "/churn", withKey("incoming%2F..%2F..%2Fsecret.csv"), bearer, 400, `".."`},
		{"key with newline", "/churn", withKey("incoming%2Fa%0Ab.csv"), bearer, 400, "U+000A"},
		{"key with NUL", "/churn", withKey("incoming%2Fa%00b.csv"), bearer, 400, "U+0000"},
		{"key not UTF-8", "/churn", withKey("incoming%2F%C3%28.csv"), bearer, 400, "not valid UTF-8"},
		{"key badly escaped", "/churn", withKey("incoming%2"), bearer, 400, "not URL-encoded"},
		{"body not UTF-8", "/churn", strings.Replace(good, "text/csv", "text/\xff", 1), bearer, 400, "not valid UTF-8"},
		{"oversize body", "/churn", good + strings.Repeat(" ", 17<<10), bearer, 413, "exceeds the limit"},
		{"missing token", "/churn", good, nil, 401, "missing Authorization"},
		{"wrong token", "/churn", good, map[string]string{"Authorization": "Bearer nope"}, 401, "wrong bearer token"},
		{"token without Bearer", "/churn", good, map[string]string{"Authorization": token}, 401, "neither a Bearer token nor Basic credentials"},
		{"missing HMAC", "/hmac", good, nil, 401, "missing " + events.SignatureHeader},
		{"HMAC over a re-serialised body", "/hmac", good, hmacOK(reserialised), 401, "does not match"},
		{"HMAC with the wrong key", "/hmac", good, map[string]string{events.SignatureHeader: events.SignatureValue([]byte("other"), []byte(good))}, 401, "does not match"},
		{"HMAC not hex", "/hmac", good, map[string]string{events.SignatureHeader: "sha256=xyz"}, 401, "malformed"},
		{"unknown path", "/nope", good, bearer, 404, "no route"},
		{"auth is checked before the body is decoded", "/churn", `{"Records":[`, nil, 401, "missing Authorization"},
	}
	if len(tests) < 25 {
		t.Fatalf("only %d bad inputs", len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, resp := post(t, rc, tt.path, tt.body, tt.hdr)
			if rec.Code != tt.code || !strings.Contains(resp.Error, tt.want) {
				t.Errorf("got %d %q, want %d and an error containing %q", rec.Code, resp.Error, tt.code, tt.want)
			}
		})
	}
	// A good HMAC passes.
	if rec, resp := post(t, rc, "/hmac", good, hmacOK(good)); rec.Code != 200 {
		t.Errorf("good HMAC: %d %+v", rec.Code, resp)
	}
	req := httptest.NewRequest(http.MethodGet, "/churn", nil)
	rec := httptest.NewRecorder()
	rc.ServeHTTP(rec, req)
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", rec.Code)
	}
	list, _ := client.TektonV1().PipelineRuns("ml").List(context.Background(), metav1.ListOptions{})
	if len(list.Items) != 1 {
		t.Errorf("%d runs after bad requests and one good HMAC, want 1", len(list.Items))
	}
}

func TestReceiverRetryableFailures(t *testing.T) {
	good := body(t, "minio-put-spaces-plus.json")
	t.Run("create fails: 503, so the sender retries", func(t *testing.T) {
		rc, client, _ := newTestReceiver()
		client.PrependReactor("create", "pipelineruns", func(k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, errors.New("connection refused")
		})
		rec, resp := post(t, rc, "/churn", good, bearer)
		if rec.Code != http.StatusServiceUnavailable || !strings.Contains(resp.Error, "connection refused") {
			t.Errorf("got %d %+v", rec.Code, resp)
		}
	})
	t.Run("a run of that name that is not ours: 409", func(t *testing.T) {
		rc, client, _ := newTestReceiver()
		_, resp := post(t, rc, "/churn", good, bearer)
		name := resp.Results[0].Run
		pr, _ := client.TektonV1().PipelineRuns("ml").Get(context.Background(), name, metav1.GetOptions{})
		pr.Annotations[DedupKeyAnnotation] = "someone-else"
		_, _ = client.TektonV1().PipelineRuns("ml").Update(context.Background(), pr, metav1.UpdateOptions{})
		rec, resp := post(t, rc, "/churn", good, bearer)
		if rec.Code != http.StatusConflict {
			t.Errorf("got %d %+v", rec.Code, resp)
		}
	})
	t.Run("panic: 500, no crash", func(t *testing.T) {
		rc, client, _ := newTestReceiver()
		client.PrependReactor("create", "pipelineruns", func(k8stesting.Action) (bool, runtime.Object, error) {
			panic("boom")
		})
		rec, _ := post(t, rc, "/churn", good, bearer)
		if rec.Code != http.StatusInternalServerError {
			t.Errorf("got %d", rec.Code)
		}
	})
}

func TestReceiverConcurrentDuplicates(t *testing.T) {
	rc, client, _ := newTestReceiver()
	good := body(t, "minio-put-spaces-plus.json")
	var wg sync.WaitGroup
	var ok atomic.Int32
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if rec, _ := post(t, rc, "/churn", good, bearer); rec.Code == 200 {
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	list, _ := client.TektonV1().PipelineRuns("ml").List(context.Background(), metav1.ListOptions{})
	if ok.Load() != 50 || len(list.Items) != 1 {
		t.Errorf("%d of 50 acknowledged, %d runs; want 50 and 1", ok.Load(), len(list.Items))
	}
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("token", token+"\n")
	write("pr.yaml", "apiVersion: tekton.dev/v1\nkind: PipelineRun\nmetadata: {generateName: churn-run-}\nspec:\n  pipelineRef: {name: churn}\n  params: [{name: epochs, value: \"3\"}, {name: data-uri, value: x}]\n")
	write("routes.yaml", "routes:\n  - path: /churn\n    namespace: ml\n    pipeline: churn\n    pipelineRunTemplate: pr.yaml\n    tokenFile: token\n    concurrencyPolicy: Forbid\n    quietWindow: 1s\n    filter: {bucket: datasets, prefix: churn/}\n")
	routes, err := LoadConfig(filepath.Join(dir, "routes.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	r := routes["/churn"]
	if r == nil || r.Policy != policy.Forbid || r.QuietWindow != time.Second || r.Template == nil {
		t.Fatalf("route = %+v", r)
	}
	if a, err := r.Credentials.Auth(context.Background()); err != nil || string(a.Token) != token {
		t.Fatalf("credentials = %+v, %v", a, err)
	}
	pr := NewRun(r, &events.Object{URI: "s3://datasets/churn/a.csv", DedupKey: "d"}, "churn-s3-x")
	if pr.Name != "churn-s3-x" || pr.GenerateName != "" || len(pr.Spec.Params) != 2 || pr.Spec.Params[0].Value.StringVal != "s3://datasets/churn/a.csv" {
		t.Errorf("NewRun = %+v", pr)
	}
	write("bad.yaml", "routes:\n  - path: /x\n    namespace: ml\n    pipeline: churn\n")
	if _, err := LoadConfig(filepath.Join(dir, "bad.yaml")); err == nil || !strings.Contains(err.Error(), "tokenFile or hmacKeyFile is required") {
		t.Errorf("route without auth: %v", err)
	}
}

// TestReceiverAWSRelays: AWS S3 reaches the receiver through an SNS HTTPS subscription (Basic credentials in
// the endpoint URL, text/plain body) or an EventBridge API destination (bearer token): each starts one run
// per object version, and an SNS subscription confirmation is acknowledged with its SubscribeURL.
func TestReceiverAWSRelays(t *testing.T) {
	rc, client, _ := newTestReceiver()
	rc.Routes["/aws"] = &Route{Target: engine.Target{Namespace: "ml", Pipeline: "churn", Credentials: &engine.StaticAuth{Token: []byte(token)}}}
	relay := func(name string) string { return body(t, filepath.Join("..", "..", "events", "testdata", name)) }
	basic := map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("sns:"+token)), "Content-Type": "text/plain; charset=UTF-8"}

	rec, resp := post(t, rc, "/aws", relay("sns-subscription-confirmation.json"), basic)
	if rec.Code != http.StatusOK || !resp.Test || !strings.HasPrefix(resp.SubscribeURL, "https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription") {
		t.Fatalf("subscription confirmation: %d %+v", rec.Code, resp)
	}
	for i, want := range []bool{true, false} { // SNS redelivers: the second delivery starts nothing
		rec, resp = post(t, rc, "/aws", relay("sns-s3-notification.json"), basic)
		if rec.Code != http.StatusOK || len(resp.Results) != 1 || resp.Results[0].Created != want || resp.Results[0].URI != "s3://amzn-s3-demo-bucket/HappyFace.jpg" {
			t.Fatalf("SNS delivery %d: %d %+v", i+1, rec.Code, resp)
		}
	}
	rec, resp = post(t, rc, "/aws", relay("eventbridge-object-created.json"), bearer)
	if rec.Code != http.StatusOK || len(resp.Results) != 1 || !resp.Results[0].Created || resp.Results[0].URI != "s3://ml-datasets/churn/2026-11-12T00:00:00/train+v2.csv" {
		t.Fatalf("EventBridge delivery: %d %+v", rec.Code, resp)
	}
	rec, resp = post(t, rc, "/aws", relay("sns-s3-notification.json"), map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("sns:wrong"))})
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("wrong Basic password: %d %+v", rec.Code, resp)
	}
	list, _ := client.TektonV1().PipelineRuns("ml").List(context.Background(), metav1.ListOptions{})
	if len(list.Items) != 2 {
		t.Errorf("%d runs, want 2 (one per object version)", len(list.Items))
	}
}
