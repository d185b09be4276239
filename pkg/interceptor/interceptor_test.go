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
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mlpipe/mlpipe/pkg/events"
	"github.com/mlpipe/mlpipe/pkg/events/engine"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/client/clientset/versioned/fake"
	listers "github.com/tektoncd/pipeline/pkg/client/listers/pipeline/v1"
	triggersv1 "github.com/tektoncd/triggers/pkg/apis/triggers/v1beta1"
	"google.golang.org/grpc/codes"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
)

type secrets map[string]string

func (s secrets) Get(_ context.Context, ns string, ref *triggersv1.SecretRef) ([]byte, error) {
	v, ok := s[ns+"/"+ref.SecretName+"/"+ref.SecretKey]
	if !ok {
		return nil, fmt.Errorf("secret %s/%s not found", ns, ref.SecretName)
	}
	return []byte(v), nil
}

func request(t testing.TB, body string, hdr map[string][]string, params map[string]any) *triggersv1.InterceptorRequest {
	t.Helper()
	return &triggersv1.InterceptorRequest{
		Body: body, Header: hdr, InterceptorParams: params,
		Context: &triggersv1.TriggerContext{TriggerID: "namespaces/ml/triggers/churn-s3", EventID: "e1"},
	}
}

func params(extra ...any) map[string]any {
	p := map[string]any{
		"pipeline":       "churn",
		"filter":         map[string]any{"bucket": "uploads", "prefix": "incoming/", "suffix": ".csv"},
		"tokenSecretRef": map[string]any{"secretName": "churn-s3-webhook", "secretKey": "token"},
	}
	for i := 0; i < len(extra); i += 2 {
		p[extra[i].(string)] = extra[i+1]
	}
	return p
}

func TestProcess(t *testing.T) {
	data, err := os.ReadFile("testdata/minio-put-spaces-plus.json")
	if err != nil {
		t.Fatal(err)
	}
	good := string(data)
	idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	_ = idx.Add(&v1.PipelineRun{ObjectMeta: metav1.ObjectMeta{Name: "churn-running", Namespace: "ml", Labels: map[string]string{"tekton.dev/pipeline": "churn"}}})
	ic := New(secrets{"ml/churn-s3-webhook/token": "s3cr3t-token"}, &engine.Engine{Runs: listers.NewPipelineRunLister(idx)}, nil)
	auth := map[string][]string{"Authorization": {"Bearer s3cr3t-token"}}

	resp := ic.Process(context.Background(), request(t, good, auth, params()))
	if !resp.Continue {
		t.Fatalf("Process() = %+v, want continue", resp)
	}
	ext := resp.Extensions[ExtensionsKey].(map[string]any)
	o := events.Object{DedupKey: "uploads/incoming/2024 report+final.csv@etag:b282d9f61f8444d101d92c50705aa1bd"}
	if ext["uri"] != "s3://uploads/incoming/2024 report+final.csv" || ext["key"] != "incoming/2024 report+final.csv" ||
		ext["bucket"] != "uploads" || ext["etag"] != "b282d9f61f8444d101d92c50705aa1bd" || ext["runName"] != o.RunName("churn") {
		t.Errorf("extensions = %v", ext)
	}

	tests := []struct {
		name   string
		body   string
		hdr    map[string][]string
		params map[string]any
		code   codes.Code
		want   string
	}{
		{"missing token", good, nil, params(), codes.Unauthenticated, "missing Authorization"},
		{"wrong token", good, map[string][]string{"Authorization": {"Bearer x"}}, params(), codes.Unauthenticated, "wrong bearer token"},
		{"invalid JSON", `{"Records":`, auth, params(), codes.InvalidArgument, "invalid JSON"},
		{"no Records", `{}`, auth, params(), codes.InvalidArgument, `no "Records"`},
		{"unsafe key", strings.Replace(good, "incoming%2F2024", "incoming%2F%24%28params.x%29", 1), auth, params(), codes.InvalidArgument, "contains '$'"},
		{"filtered out", good, auth, params("filter", map[string]any{"bucket": "other"}), codes.FailedPrecondition, "bucket"},
		{"forbid while active", good, auth, params("concurrencyPolicy", "Forbid"), codes.FailedPrecondition, "Forbid"},
		{"no auth configured", good, auth, map[string]any{"pipeline": "churn"}, codes.InvalidArgument, "tokenSecretRef or hmacSecretRef"},
		{"unknown policy", good, auth, params("concurrencyPolicy", "Sometimes"), codes.InvalidArgument, "unknown concurrency policy"},
		{"secret missing", good, auth, params("tokenSecretRef", map[string]any{"secretName": "nope", "secretKey": "token"}), codes.Unavailable, "not found"},
		{"quiet window too long", good, auth, params("quietWindow", "10s"), codes.InvalidArgument, "quietWindow"},
		{"test event", `{"Service":"Amazon S3","Event":"s3:TestEvent"}`, auth, params(), codes.OK, "TestEvent"},
		{"SNS subscription confirmation", `{"Type":"SubscriptionConfirmation","TopicArn":"arn:aws:sns:us-east-1:1:t","SubscribeURL":"https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Token=abc"}`,
			auth, params(), codes.OK, "visiting its SubscribeURL: https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Token=abc"},
		{"SNS message that is not an S3 event", `{"Type":"Notification","TopicArn":"arn:aws:sns:us-east-1:1:t","Message":"hello"}`, auth, params(), codes.InvalidArgument, "in the SNS message"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := ic.Process(context.Background(), request(t, tt.body, tt.hdr, tt.params))
			if resp.Continue || resp.Status.Code != tt.code || !strings.Contains(resp.Status.Message, tt.want) {
				t.Errorf("Process() = %+v, want stop with %v containing %q", resp, tt.code, tt.want)
			}
		})
	}
	bad := request(t, good, auth, params())
	bad.Context.TriggerID = "garbage"
	if resp := ic.Process(context.Background(), bad); resp.Continue {
		t.Error("a bad trigger_id continued")
	}
}

func TestProcessReplaceCancelsRunningFinally(t *testing.T) {
	data, err := os.ReadFile("testdata/minio-put-spaces-plus.json")
	if err != nil {
		t.Fatal(err)
	}
	running := &v1.PipelineRun{ObjectMeta: metav1.ObjectMeta{Name: "churn-running", Namespace: "ml", Labels: map[string]string{"tekton.dev/pipeline": "churn"}}}
	idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	_ = idx.Add(running)
	client := fake.NewSimpleClientset(running)
	ic := New(secrets{"ml/churn-s3-webhook/token": "s3cr3t-token"}, &engine.Engine{Runs: listers.NewPipelineRunLister(idx), Tekton: client}, nil)
	auth := map[string][]string{"Authorization": {"Bearer s3cr3t-token"}}
	if resp := ic.Process(context.Background(), request(t, string(data), auth, params("concurrencyPolicy", "Replace"))); !resp.Continue {
		t.Fatalf("Process() = %+v, want continue", resp)
	}
	var patches []string
	for _, a := range client.Actions() {
		if p, ok := a.(k8stesting.PatchAction); ok {
			patches = append(patches, p.GetName()+" "+string(p.GetPatchType())+" "+string(p.GetPatch()))
		}
	}
	want := []string{`churn-running application/merge-patch+json {"spec":{"status":"CancelledRunFinally"}}`}
	if diff := cmp.Diff(want, patches); diff != "" {
		t.Errorf("patches (-want +got):\n%s", diff)
	}
}
