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

package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mlpipe/mlpipe/pkg/events"
	"github.com/mlpipe/mlpipe/pkg/events/engine"
	"github.com/mlpipe/mlpipe/pkg/interceptor"
	"github.com/mlpipe/mlpipe/pkg/receiver"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/client/clientset/versioned/fake"
	listers "github.com/tektoncd/pipeline/pkg/client/listers/pipeline/v1"
	triggersv1 "github.com/tektoncd/triggers/pkg/apis/triggers/v1beta1"
	"google.golang.org/grpc/codes"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	testingclock "k8s.io/utils/clock/testing"
)

const (
	ns    = "ml"
	token = "s3cr3t-token"
)

// target is one Trigger of the interceptor and one route of the receiver, configured the way users configure
// each: interceptor params with a Secret reference, a receiver config file with a token file.
type target struct {
	pipeline string
	filter   events.Filter
	policy   string
	window   string
	// secret is what the token Secret (and the token file) holds; empty: the Secret is missing.
	secret string
}

// answer is a surface's answer normalised: what it started and cancelled, and its own code.
type answer struct {
	// kind is started, nothing (acknowledged, nothing to start), test, invalid, unauthenticated or unavailable.
	kind string
	// runs are the runs the surface starts: created (or already there) on the receiver, handed to Triggers as
	// runName by the interceptor.
	runs      []string
	cancelled []string
	// http is the receiver's status code, grpc the interceptor's; each surface fills in its own.
	http int
	grpc codes.Code
}

// env is the cluster a request meets: the fake API server's runs and the informer cache holding them.
type env struct {
	client *fake.Clientset
	eng    *engine.Engine
}

func newEnv(existing []*v1.PipelineRun) *env {
	var objs []runtime.Object
	idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	for _, r := range existing {
		objs = append(objs, r)
		_ = idx.Add(r)
	}
	client := fake.NewSimpleClientset(objs...)
	return &env{client: client, eng: &engine.Engine{Tekton: client, Runs: listers.NewPipelineRunLister(idx)}}
}

func (e *env) cancelled() []string {
	var out []string
	for _, a := range e.client.Actions() {
		if p, ok := a.(k8stesting.PatchAction); ok {
			out = append(out, p.GetName())
		}
	}
	return out
}

type surface struct {
	name string
	// open configures the target; post sends one notification, rotate changes what the Secret holds.
	open func(t *testing.T, e *env, tg *target) (post func(hdr http.Header, body []byte) answer, rotate func(secret string))
}

var surfaces = []surface{
	{"receiver", openReceiver},
	{"interceptor", openInterceptor},
}

func openReceiver(t *testing.T, e *env, tg *target) (func(http.Header, []byte) answer, func(string)) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	writeFile(t, tokenFile, tg.secret+"\n")
	if tg.secret == "" {
		writeFile(t, tokenFile, "placeholder\n") // the file exists at start, and is gone when the request comes
	}
	cfg := receiver.Config{Routes: []receiver.RouteConfig{{
		Path: "/" + tg.pipeline, Namespace: ns, Pipeline: tg.pipeline, Filter: tg.filter,
		ConcurrencyPolicy: tg.policy, QuietWindow: tg.window, TokenFile: "token",
	}}}
	routes, err := cfg.Build(dir)
	if err != nil {
		t.Fatalf("receiver config: %v", err)
	}
	if tg.secret == "" {
		if err := os.Remove(tokenFile); err != nil {
			t.Fatal(err)
		}
	}
	rc := &receiver.Receiver{Routes: routes, Engine: e.eng}
	rotate := func(secret string) { writeFile(t, tokenFile, secret+"\n") }
	post := func(hdr http.Header, body []byte) answer {
		req := httptest.NewRequest(http.MethodPost, "/"+tg.pipeline, strings.NewReader(string(body)))
		for k, v := range hdr {
			req.Header[k] = v
		}
		rec := httptest.NewRecorder()
		rc.ServeHTTP(rec, req)
		var resp receiver.Response
		if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
			t.Fatalf("receiver answered %d with %q", rec.Code, rec.Body.String())
		}
		a := answer{http: rec.Code}
		switch {
		case rec.Code == http.StatusOK && resp.Test:
			a.kind = "test"
		case rec.Code == http.StatusOK:
			a.kind = "nothing"
			for _, r := range resp.Results {
				if r.Skipped == "" && r.Run != "" {
					a.kind, a.runs = "started", append(a.runs, r.Run)
				}
			}
		default:
			a.kind = map[int]string{400: "invalid", 401: "unauthenticated", 503: "unavailable"}[rec.Code]
		}
		return a
	}
	return post, rotate
}

// secretStore is a Triggers SecretGetter over a map that a test may change (a rotated Secret).
type secretStore struct {
	mu   sync.Mutex
	data map[string]string
}

func (s *secretStore) Get(_ context.Context, namespace string, ref *triggersv1.SecretRef) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.data[namespace+"/"+ref.SecretName+"/"+ref.SecretKey]
	if !ok {
		return nil, fmt.Errorf("secret %s/%s not found", namespace, ref.SecretName)
	}
	return []byte(v), nil
}

func (s *secretStore) set(v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.data = map[string]string{ns + "/webhook/token": v}
}

func openInterceptor(t *testing.T, e *env, tg *target) (func(http.Header, []byte) answer, func(string)) {
	store := &secretStore{}
	if tg.secret != "" {
		store.set(tg.secret)
	}
	ic := interceptor.New(store, e.eng, nil)
	var filter map[string]any
	data, _ := json.Marshal(tg.filter)
	_ = json.Unmarshal(data, &filter)
	params := map[string]any{
		"pipeline":       tg.pipeline,
		"filter":         filter,
		"tokenSecretRef": map[string]any{"secretName": "webhook", "secretKey": "token"},
	}
	if tg.policy != "" {
		params["concurrencyPolicy"] = tg.policy
	}
	if tg.window != "" {
		params["quietWindow"] = tg.window
	}
	post := func(hdr http.Header, body []byte) answer {
		resp := ic.Process(context.Background(), &triggersv1.InterceptorRequest{
			Body: string(body), Header: hdr, InterceptorParams: params,
			Context: &triggersv1.TriggerContext{TriggerID: "namespaces/" + ns + "/triggers/" + tg.pipeline + "-s3", EventID: "e1"},
		})
		if resp.Continue {
			ext := resp.Extensions[interceptor.ExtensionsKey].(map[string]any)
			return answer{kind: "started", runs: []string{ext["runName"].(string)}, grpc: codes.OK}
		}
		a := answer{grpc: resp.Status.Code}
		a.kind = map[codes.Code]string{codes.OK: "test", codes.FailedPrecondition: "nothing", codes.InvalidArgument: "invalid",
			codes.Unauthenticated: "unauthenticated", codes.Unavailable: "unavailable"}[resp.Status.Code]
		return a
	}
	return post, store.set
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

// payload reads a captured notification from pkg/events/testdata.
func payload(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// records joins the Records of captured notifications into one notification, as a relay batching them would.
func records(t *testing.T, names ...string) []byte {
	t.Helper()
	var all []any
	for _, n := range names {
		var v map[string]any
		if err := json.Unmarshal(payload(t, n), &v); err != nil {
			t.Fatal(err)
		}
		all = append(all, v["Records"].([]any)...)
	}
	data, err := json.Marshal(map[string]any{"Records": all})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func bearer(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }

func run(name, pipeline, dedupKey string) *v1.PipelineRun {
	return &v1.PipelineRun{ObjectMeta: metav1.ObjectMeta{
		Name: name, Namespace: ns,
		Labels:      map[string]string{"tekton.dev/pipeline": pipeline},
		Annotations: map[string]string{receiver.DedupKeyAnnotation: dedupKey},
	}}
}

// Names derived outside the code under test: "<pipeline>-s3-" + 16 hex digits of sha256(dedup key) (see
// pkg/events TestRunNamePinned).
const (
	putRun       = "churn-s3-ea355037ff69652c" // datasets/churn/train.csv@etag:e5ebd4c02cefbe7955977c67ada242b7
	putKey       = "datasets/churn/train.csv@etag:e5ebd4c02cefbe7955977c67ada242b7"
	multipartRun = "churn-s3-c15609355f50a6b1" // datasets/churn/big.csv@etag:7d368e72ecdd3ff1d9b28f29481a125f-2
)

// TestSurfacesAgree drives the receiver and the interceptor with the same notifications (payloads captured from
// MinIO and from AWS's documentation) against the same cluster state, and wants the same answer from both: the
// same runs started, the same runs cancelled, and each surface's code for it.
func TestSurfacesAgree(t *testing.T) {
	churn := target{pipeline: "churn", secret: token}
	with := func(f func(*target)) target { tg := churn; f(&tg); return tg }
	started := func(runs ...string) answer {
		return answer{kind: "started", runs: runs, http: 200, grpc: codes.OK}
	}
	nothing := answer{kind: "nothing", http: 200, grpc: codes.FailedPrecondition}
	tests := []struct {
		name     string
		target   target
		existing []*v1.PipelineRun
		hdr      http.Header
		body     []byte
		want     answer
		// wantInterceptor, when set, is the interceptor's answer where it cannot express the receiver's (it
		// starts one run per notification).
		wantInterceptor *answer
	}{{
		name:   "MinIO put captured from a real server, key with '/', space and '+'",
		target: with(func(tg *target) { tg.filter = events.Filter{Bucket: "uploads", Prefix: "incoming/", Suffix: ".csv"} }),
		hdr:    bearer(token), body: payload(t, "minio-put-spaces-plus.json"),
		want: started("churn-s3-f379c46b66ca21f2"),
	}, {
		name:   "AWS put through SNS",
		target: with(func(tg *target) { tg.pipeline = "fraud" }),
		hdr:    bearer(token), body: payload(t, "sns-s3-notification.json"),
		want: started("fraud-s3-4d3b43bdea5e83f0"),
	}, {
		name: "EventBridge Object Created", target: churn,
		hdr: bearer(token), body: payload(t, "eventbridge-object-created.json"),
		want: started("churn-s3-866168d772085304"),
	}, {
		name: "EventBridge Object Deleted is not an ObjectCreated event", target: churn,
		hdr: bearer(token), body: payload(t, "eventbridge-object-deleted.json"),
		want: nothing,
	}, {
		name:   "the marker object starts its directory's run",
		target: with(func(tg *target) { tg.filter = events.Filter{Prefix: "churn/", Marker: "_SUCCESS"} }),
		hdr:    bearer(token), body: payload(t, "minio-put-marker.json"),
		want: started("churn-s3-ec0c224ffc348899"),
	}, {
		name:   "another bucket",
		target: with(func(tg *target) { tg.filter = events.Filter{Bucket: "uploads"} }),
		hdr:    bearer(token), body: payload(t, "minio-put.json"),
		want: nothing,
	}, {
		name: "s3:TestEvent", target: churn,
		hdr: bearer(token), body: payload(t, "aws-test-event.json"),
		want: answer{kind: "test", http: 200, grpc: codes.OK},
	}, {
		name: "SNS subscription confirmation", target: churn,
		hdr: bearer(token), body: payload(t, "sns-subscription-confirmation.json"),
		want: answer{kind: "test", http: 200, grpc: codes.OK},
	}, {
		name: "wrong token", target: churn,
		hdr: bearer("nope"), body: payload(t, "minio-put.json"),
		want: answer{kind: "unauthenticated", http: 401, grpc: codes.Unauthenticated},
	}, {
		name: "no credentials sent", target: churn,
		body: payload(t, "minio-put.json"),
		want: answer{kind: "unauthenticated", http: 401, grpc: codes.Unauthenticated},
	}, {
		name:   "the Secret is gone: retry later",
		target: with(func(tg *target) { tg.secret = "" }),
		hdr:    bearer(token), body: payload(t, "minio-put.json"),
		want: answer{kind: "unavailable", http: 503, grpc: codes.Unavailable},
	}, {
		name: "truncated JSON", target: churn,
		hdr: bearer(token), body: payload(t, "minio-put.json")[:100],
		want: answer{kind: "invalid", http: 400, grpc: codes.InvalidArgument},
	}, {
		name:     "Forbid while another run is active",
		target:   with(func(tg *target) { tg.policy = "Forbid" }),
		existing: []*v1.PipelineRun{run("churn-manual", "churn", "")},
		hdr:      bearer(token), body: payload(t, "minio-put.json"),
		want: nothing,
	}, {
		name:     "Forbid: a redelivery of a started object is acknowledged as the same start, not skipped",
		target:   with(func(tg *target) { tg.policy = "Forbid" }),
		existing: []*v1.PipelineRun{run(putRun, "churn", putKey), run("churn-manual", "churn", "")},
		hdr:      bearer(token), body: payload(t, "minio-put.json"),
		want: started(putRun),
	}, {
		name:     "Replace cancels the active run",
		target:   with(func(tg *target) { tg.policy = "Replace" }),
		existing: []*v1.PipelineRun{run("churn-manual", "churn", "")},
		hdr:      bearer(token), body: payload(t, "minio-put.json"),
		want: answer{kind: "started", runs: []string{putRun}, cancelled: []string{"churn-manual"}, http: 200, grpc: codes.OK},
	}, {
		name:     "Replace: a redelivery of an older object does not cancel the newer run",
		target:   with(func(tg *target) { tg.policy = "Replace" }),
		existing: []*v1.PipelineRun{run(putRun, "churn", putKey), run("churn-newer", "churn", "")},
		hdr:      bearer(token), body: payload(t, "minio-put.json"),
		want: started(putRun),
	}, {
		name: "two objects in one notification, Allow: each starts once", target: churn,
		hdr: bearer(token), body: records(t, "minio-put.json", "minio-multipart.json"),
		want:            started(putRun, multipartRun),
		wantInterceptor: &answer{kind: "invalid", grpc: codes.InvalidArgument},
	}, {
		name:   "two objects in one notification, Forbid: one burst, the last starts",
		target: with(func(tg *target) { tg.policy = "Forbid" }),
		hdr:    bearer(token), body: records(t, "minio-put.json", "minio-multipart.json"),
		want: started(multipartRun),
	}, {
		name: "the same object twice in one notification starts once", target: churn,
		hdr: bearer(token), body: records(t, "minio-put.json", "minio-put.json"),
		want: started(putRun),
	}, {
		name:   "two objects, one filtered out: the other starts",
		target: with(func(tg *target) { tg.filter = events.Filter{Suffix: "train.csv"} }),
		hdr:    bearer(token), body: records(t, "minio-multipart.json", "minio-put.json"),
		want: started(putRun),
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, s := range surfaces {
				t.Run(s.name, func(t *testing.T) {
					e := newEnv(tt.existing)
					tg := tt.target
					post, _ := s.open(t, e, &tg)
					got := post(tt.hdr, tt.body)
					got.cancelled = e.cancelled()
					want := tt.want
					if s.name == "interceptor" && tt.wantInterceptor != nil {
						want = *tt.wantInterceptor
					}
					if s.name == "receiver" {
						got.grpc, want.grpc = 0, 0
					} else {
						got.http, want.http = 0, 0
					}
					if diff := cmp.Diff(want, got, cmp.AllowUnexported(answer{})); diff != "" {
						t.Errorf("answer (-want +got):\n%s", diff)
					}
				})
			}
		})
	}
}

// TestSurfacesFollowRotatedSecret: after the Secret (the interceptor's Secret, the receiver's mounted file)
// changes, the next request needs the new token, without a restart.
func TestSurfacesFollowRotatedSecret(t *testing.T) {
	body := payload(t, "minio-put.json")
	for _, s := range surfaces {
		t.Run(s.name, func(t *testing.T) {
			e := newEnv(nil)
			tg := target{pipeline: "churn", secret: "old-token"}
			post, rotate := s.open(t, e, &tg)
			if got := post(bearer("old-token"), body); got.kind != "started" {
				t.Fatalf("old token before rotation: %+v", got)
			}
			rotate("new-token")
			if got := post(bearer("old-token"), body); got.kind != "unauthenticated" {
				t.Errorf("old token after rotation: %+v, want unauthenticated", got)
			}
			if got := post(bearer("new-token"), body); got.kind != "started" {
				t.Errorf("new token after rotation: %+v, want started", got)
			}
		})
	}
}

// burstBody is minio-put.json with the ETag burst-<i>: the i-th upload of a burst to the same key.
func burstBody(t *testing.T, i int) []byte {
	return []byte(strings.Replace(string(payload(t, "minio-put.json")), "e5ebd4c02cefbe7955977c67ada242b7", fmt.Sprintf("burst-%d", i), 1))
}

// burstRuns are the run names of burstBody(0..3), derived outside the code under test (sha256 of
// "datasets/churn/train.csv@etag:burst-<i>").
var burstRuns = []string{"churn-s3-338515e9addff803", "churn-s3-ea85aeccd7bad014", "churn-s3-e1fd9d40d9f8bbbc", "churn-s3-c730a9c09f884180"}

// waitFor polls cond (no timing depends on it: the fake clock decides when windows end).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestSurfacesCoalesceBurst sends four uploads of one key, gap apart on a fake clock, against a 200 ms quiet
// window, through each surface, and checks which of them start.
func TestSurfacesCoalesceBurst(t *testing.T) {
	nothing := answer{kind: "nothing"}
	tests := []struct {
		name string
		gap  time.Duration
		want []answer
	}{{
		name: "30 ms apart: one burst, only the last upload starts",
		gap:  30 * time.Millisecond,
		want: []answer{nothing, nothing, nothing, {kind: "started", runs: burstRuns[3:]}},
	}, {
		name: "199 ms apart: still one burst",
		gap:  199 * time.Millisecond,
		want: []answer{nothing, nothing, nothing, {kind: "started", runs: burstRuns[3:]}},
	}, {
		name: "200 ms apart: every upload ends its window quiet and starts",
		gap:  200 * time.Millisecond,
		want: []answer{{kind: "started", runs: burstRuns[:1]}, {kind: "started", runs: burstRuns[1:2]}, {kind: "started", runs: burstRuns[2:3]}, {kind: "started", runs: burstRuns[3:]}},
	}}
	for _, tt := range tests {
		for _, s := range surfaces {
			t.Run(tt.name+"/"+s.name, func(t *testing.T) {
				fc := testingclock.NewFakeClock(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
				e := newEnv(nil)
				e.eng.Clock = fc
				tg := target{pipeline: "churn", secret: token, window: "200ms"}
				post, _ := s.open(t, e, &tg)
				answers := make([]chan answer, len(tt.want))
				got := make([]answer, len(tt.want))
				for i := range answers {
					answers[i] = make(chan answer, 1)
					go func() { answers[i] <- post(bearer(token), burstBody(t, i)) }()
					if i > 0 && tt.gap < 200*time.Millisecond {
						got[i-1] = <-answers[i-1] // upload i took its place
					}
					waitFor(t, fmt.Sprintf("upload %d to hold the window", i), func() bool { return fc.Waiters() == 1 })
					if i < len(answers)-1 {
						fc.Step(tt.gap)
					} else {
						fc.Step(200 * time.Millisecond)
					}
					if tt.gap >= 200*time.Millisecond || i == len(answers)-1 {
						got[i] = <-answers[i]
					}
				}
				for i := range got {
					got[i].http, got[i].grpc = 0, 0
				}
				if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(answer{})); diff != "" {
					t.Errorf("answers (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// TestSurfacesBoundQuietWindow: both surfaces refuse a quiet window longer than engine.MaxQuietWindow (2.5 s),
// which the interceptor could not answer within Triggers' 3 s, and accept 2.5 s.
func TestSurfacesBoundQuietWindow(t *testing.T) {
	for _, w := range []string{"2501ms", "30s", "-1s", "soon"} {
		cfg := receiver.Config{Routes: []receiver.RouteConfig{{Path: "/churn", Namespace: ns, Pipeline: "churn", QuietWindow: w, TokenFile: "token"}}}
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "token"), token)
		if _, err := cfg.Build(dir); err == nil || !strings.Contains(err.Error(), "routes[0].quietWindow") {
			t.Errorf("receiver quietWindow %s: %v, want an error naming routes[0].quietWindow", w, err)
		}
		ic := interceptor.New(&secretStore{}, &engine.Engine{}, nil)
		resp := ic.Process(context.Background(), &triggersv1.InterceptorRequest{
			Body: "{}", InterceptorParams: map[string]any{"pipeline": "churn", "quietWindow": w,
				"tokenSecretRef": map[string]any{"secretName": "webhook", "secretKey": "token"}},
			Context: &triggersv1.TriggerContext{TriggerID: "namespaces/ml/triggers/churn-s3"},
		})
		if resp.Continue || resp.Status.Code != codes.InvalidArgument || !strings.Contains(resp.Status.Message, "quietWindow") {
			t.Errorf("interceptor quietWindow %s: %+v, want InvalidArgument naming quietWindow", w, resp.Status)
		}
	}
	for _, s := range surfaces {
		post, _ := s.open(t, newEnv(nil), &target{pipeline: "churn", secret: token, window: "2.5s"})
		if got := post(bearer(token), payload(t, "aws-test-event.json")); got.kind != "test" {
			t.Errorf("%s with quietWindow 2.5s: %+v, want the test event acknowledged", s.name, got)
		}
	}
}
