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

package steps

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/minio/minio-go/v7"
	testclock "k8s.io/utils/clock/testing"

	"github.com/mlpipe/mlpipe/pkg/store/storetest"
)

// startServe runs Serve on loopback until the returned cancel is called; errc receives Serve's result.
func startServe(t *testing.T, o *ServeOptions) (base string, cancel context.CancelFunc, errc chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	errc = make(chan error, 1)
	o.Addr, o.Ready = "127.0.0.1:0", func(a net.Addr) { addrc <- a }
	go func() { errc <- Serve(ctx, o, io.Discard) }()
	select {
	case a := <-addrc:
		return "http://" + a.String(), cancel, errc
	case err := <-errc:
		cancel()
		t.Fatalf("Serve: %v", err)
	}
	return "", cancel, errc
}

// churnRow is one raw row of examples/data/churn.csv's feature columns, as one [1, 7] BYTES tensor.
var churnRow = map[string]any{"inputs": []map[string]any{{
	"name": "rows", "shape": []int{1, 7}, "datatype": "BYTES",
	"data": []string{"70", "25", "0", "two-year", "basic", "east", "no"},
}}}

func status(t *testing.T, method, url string) int {
	t.Helper()
	var body io.Reader
	if method == http.MethodPost {
		body = strings.NewReader(mustJSON(t, churnRow))
	}
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// TestServeDrain: told to stop, the server reports not ready but answers infer requests for --drain-delay (on a
// fake clock), then shuts down and refuses them.
func TestServeDrain(t *testing.T) {
	_, model := preparedDataset(t)
	fc := testclock.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	base, cancel, errc := startServe(t, &ServeOptions{Model: model, Name: "churn", DrainDelay: 5 * time.Second, Clock: fc})
	defer cancel()
	if got := status(t, http.MethodGet, base+"/v2/health/ready"); got != http.StatusOK {
		t.Fatalf("ready before the drain = %d, want 200", got)
	}
	cancel()
	for !fc.HasWaiters() {
		time.Sleep(time.Millisecond) // until Serve waits out the drain
	}
	tests := []struct {
		method, path string
		want         int
	}{
		{http.MethodGet, "/v2/health/ready", http.StatusServiceUnavailable},
		{http.MethodGet, "/v2/models/churn/ready", http.StatusServiceUnavailable},
		{http.MethodGet, "/v2/health/live", http.StatusOK},
		{http.MethodPost, "/v2/models/churn/infer", http.StatusOK},
	}
	for _, tt := range tests {
		if got := status(t, tt.method, base+tt.path); got != tt.want {
			t.Errorf("draining: %s %s = %d, want %d", tt.method, tt.path, got, tt.want)
		}
	}
	select {
	case err := <-errc:
		t.Fatalf("Serve returned during the drain: %v", err)
	default:
	}
	fc.Step(5 * time.Second)
	select {
	case err := <-errc:
		if err != nil {
			t.Errorf("Serve = %v after the drain, want nil", err)
		}
	case <-time.After(10 * time.Second): // a guard: the shutdown itself is immediate
		t.Fatal("Serve did not stop after the drain")
	}
}

// TestServeS3 serves a registered model straight from MinIO, as the predictor of deploy --target=kubernetes does
// with the AWS_* settings deploy passes it; a missing model fails with an error naming it, which deploy quotes.
func TestServeS3(t *testing.T) {
	m := storetest.Start(t)
	m.SetEnv(t)
	m.MakeBucket(t, "bucket")
	_, local := preparedDataset(t)
	data, err := os.ReadFile(strings.TrimPrefix(local, "file://"))
	if err != nil {
		t.Fatal(err)
	}
	for key, obj := range map[string][]byte{
		"prefix/churn/v1/model.json":    data,
		"prefix/churn/v1/metadata.json": []byte(`{"name":"churn","version":1}`),
		"prefix/churn/champion":         []byte(`{"name":"churn","version":1,"modelUri":"s3://bucket/prefix/churn/v1/model.json"}`),
	} {
		if _, err := m.Client.PutObject(context.Background(), "bucket", key, bytes.NewReader(obj), int64(len(obj)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name, model string
	}{
		{name: "model.json", model: "s3://bucket/prefix/churn/v1/model.json"},
		{name: "its directory", model: "s3://bucket/prefix/churn/v1"},
		{name: "the champion alias", model: "s3://bucket/prefix/churn/champion"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, cancel, errc := startServe(t, &ServeOptions{Model: tt.model, Name: "churn"})
			var resp InferResponse
			postJSON(t, base+"/v2/models/churn/infer", churnRow, http.StatusOK, &resp)
			if got := resp.Outputs[0].Data; !cmp.Equal(got, []any{"no"}) || resp.ModelVersion != "1" {
				t.Errorf("predicted_class = %v, model_version %q; want [no], 1", got, resp.ModelVersion)
			}
			cancel()
			if err := <-errc; err != nil {
				t.Errorf("Serve = %v", err)
			}
		})
	}
	t.Run("missing model", func(t *testing.T) {
		errFile := t.TempDir() + "/termination-log"
		t.Setenv(ErrorFileEnv, errFile)
		r := runStep(t, "serve", "--model", "s3://bucket/prefix/churn/v9/model.json", "--name", "churn", "--addr", "127.0.0.1:0")
		if r.err == nil || !strings.Contains(r.err.Error(), "error reading model: s3://bucket/prefix/churn/v9/model.json") {
			t.Fatalf("err = %v, want the missing model named", r.err)
		}
		t.Logf("serve: %v", r.err)
		// What the kubelet copies into the container's terminated state, and deploy quotes.
		if got, _ := os.ReadFile(errFile); strings.TrimSpace(string(got)) != r.err.Error() {
			t.Errorf("%s = %q, want the error %q", ErrorFileEnv, got, r.err)
		}
	})
}
