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
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	testclock "k8s.io/utils/clock/testing"
)

// modelMetadata GETs a served model's metadata.
func modelMetadata(t *testing.T, url string) (versions []string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var md struct {
		Versions []string `json:"versions"`
	}
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d", url, res.StatusCode)
	}
	if err := json.NewDecoder(res.Body).Decode(&md); err != nil {
		t.Fatal(err)
	}
	return md.Versions
}

// TestServeChampionAlias: --model <registry>/<name>/champion serves the version the alias points at, and the
// metadata, the responses and the /versions/{version}/ paths name it.
func TestServeChampionAlias(t *testing.T) {
	ds, model := preparedDataset(t)
	dir := t.TempDir()
	ev := mustRun(t, "evaluate", "--dataset", ds, "--model", model, "--threshold", "0", "--out", filepath.Join(dir, "metrics"))
	registry := filepath.Join(dir, "registry")
	mustRun(t, "register", "--store", registry, "--model-name", "churn", "--model", model, "--metrics", ev.results["metrics-uri"])

	base, cancel, errc := startServe(t, &ServeOptions{Model: registry + "/churn/champion", Name: "churn"})
	defer func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("Serve = %v", err)
		}
	}()
	if got := modelMetadata(t, base+"/v2/models/churn"); !cmp.Equal(got, []string{"1"}) {
		t.Errorf("versions = %q, want [1]", got)
	}
	var resp InferResponse
	postJSON(t, base+"/v2/models/churn/infer", churnRow, http.StatusOK, &resp)
	if resp.ModelVersion != "1" {
		t.Errorf("model_version = %q, want 1", resp.ModelVersion)
	}
	postJSON(t, base+"/v2/models/churn/versions/1/infer", churnRow, http.StatusOK, &resp)
	var e struct{ Error string }
	postJSON(t, base+"/v2/models/churn/versions/2/infer", churnRow, http.StatusNotFound, &e)
	if want := `model "churn" has no version "2" here (versions: "1")`; e.Error != want {
		t.Errorf("error = %q, want %q", e.Error, want)
	}
}

// TestResolveModel maps model URIs by hand-made registry layouts: the alias leads to the version it names (not
// to the newest), a version directory with metadata.json is that version, anything else has none.
func TestResolveModel(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"reg/churn/v1/model.json", "reg/churn/v1/metadata.json", "reg/churn/v2/model.json", "reg/churn/v2/metadata.json", "copy/v3/model.json", "other/champion/model.json", "bad/x"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, dir, f, []byte("{}"))
	}
	writeFile(t, dir, "reg/churn/champion", []byte(`{"name":"churn","version":1,"modelUri":"file:///elsewhere/v1/model.json"}`))
	writeFile(t, dir, "bad/champion", []byte(`not json`))
	tests := []struct {
		uri  string
		want ModelRef
	}{
		{uri: dir + "/reg/churn/champion", want: ModelRef{URI: dir + "/reg/churn/v1/model.json", Version: "1"}},
		{uri: "file://" + dir + "/reg/churn/champion", want: ModelRef{URI: "file://" + dir + "/reg/churn/v1/model.json", Version: "1"}},
		{uri: dir + "/reg/churn/v2", want: ModelRef{URI: dir + "/reg/churn/v2/model.json", Version: "2"}},
		{uri: dir + "/reg/churn/v2/model.json", want: ModelRef{URI: dir + "/reg/churn/v2/model.json", Version: "2"}},
		{uri: dir + "/copy/v3", want: ModelRef{URI: dir + "/copy/v3/model.json"}},
		{uri: dir + "/other/champion", want: ModelRef{URI: dir + "/other/champion/model.json"}},
	}
	for _, tt := range tests {
		got, err := ResolveModel(context.Background(), tt.uri)
		if err != nil {
			t.Errorf("ResolveModel(%s): %v", tt.uri, err)
			continue
		}
		if d := cmp.Diff(tt.want, got); d != "" {
			t.Errorf("ResolveModel(%s) (-want +got):\n%s", tt.uri, d)
		}
	}
	_, err := ResolveModel(context.Background(), dir+"/bad/champion")
	if want := dir + "/bad/champion is not a champion alias (a JSON object with the version it points at): invalid character 'o' in literal null (expecting 'u')"; err == nil || err.Error() != want {
		t.Errorf("bad alias: err = %v, want %s", err, want)
	}
}

// TestServeVersionIsDigest: a model from outside a registry lists its model.json digest as its version.
func TestServeVersionIsDigest(t *testing.T) {
	_, model := preparedDataset(t)
	data, err := os.ReadFile(strings.TrimPrefix(model, "file://"))
	if err != nil {
		t.Fatal(err)
	}
	base, cancel, errc := startServe(t, &ServeOptions{Model: model, Name: "churn"})
	defer func() { cancel(); <-errc }()
	want := fmt.Sprintf("sha256:%x", sha256.Sum256(data))
	if got := modelMetadata(t, base+"/v2/models/churn"); !cmp.Equal(got, []string{want}) {
		t.Errorf("versions = %q, want [%s]", got, want)
	}
}

// TestServeMethodNotAllowed: a known path with the wrong method answers 405 with an Allow header, an unknown
// path 404.
func TestServeMethodNotAllowed(t *testing.T) {
	_, model := preparedDataset(t)
	m, _, err := LoadModel(context.Background(), model)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(NewServer(m, "churn", 0))
	defer srv.Close()
	tests := []struct {
		method, path string
		status       int
		allow, err   string
	}{
		{http.MethodGet, "/v2/models/churn/infer", 405, "POST", "method GET is not allowed on /v2/models/churn/infer: use POST"},
		{http.MethodPut, "/v2/models/churn/versions/x/infer", 405, "POST", "method PUT is not allowed on /v2/models/churn/versions/x/infer: use POST"},
		{http.MethodPost, "/v2/health/ready", 405, "GET, HEAD", "method POST is not allowed on /v2/health/ready: use GET, HEAD"},
		{http.MethodDelete, "/v2/models/churn", 405, "GET, HEAD", "method DELETE is not allowed on /v2/models/churn: use GET, HEAD"},
		{http.MethodGet, "/v2/nothing", 404, "", "no route for GET /v2/nothing"},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(tt.method, srv.URL+tt.path, nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var e struct{ Error string }
		_ = json.NewDecoder(res.Body).Decode(&e)
		res.Body.Close()
		if res.StatusCode != tt.status || res.Header.Get("Allow") != tt.allow || e.Error != tt.err {
			t.Errorf("%s %s = %d, Allow %q, error %q; want %d, %q, %q", tt.method, tt.path, res.StatusCode, res.Header.Get("Allow"), e.Error, tt.status, tt.allow, tt.err)
		}
	}
}

// TestLogRequests: each request is one JSON line with its time, method, path, status, body size, duration
// (1.5 ms on the fake clock) and client, and the error of a refused one.
func TestLogRequests(t *testing.T) {
	_, model := preparedDataset(t)
	m, _, err := LoadModel(context.Background(), model)
	if err != nil {
		t.Fatal(err)
	}
	fc := testclock.NewFakeClock(time.Date(2026, 12, 2, 13, 0, 0, 0, time.UTC))
	srv := NewServer(m, "churn", 0)
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fc.Step(1500 * time.Microsecond)
		srv.ServeHTTP(w, r)
	})
	var log bytes.Buffer
	h := LogRequests(slow, &log, fc)
	for _, r := range []*http.Request{
		httptest.NewRequest(http.MethodGet, "/v2/health/live", nil),
		httptest.NewRequest(http.MethodGet, "/v2/models/other", nil),
	} {
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	want := `{"time":"2026-12-02T13:00:00Z","method":"GET","path":"/v2/health/live","status":200,"bytes":14,"durationMs":1.5,"remote":"192.0.2.1:1234"}
{"time":"2026-12-02T13:00:00.0015Z","method":"GET","path":"/v2/models/other","status":404,"bytes":78,"durationMs":1.5,"remote":"192.0.2.1:1234","error":"model \"other\" is not served here (this server serves \"churn\")"}
`
	if d := cmp.Diff(want, log.String()); d != "" {
		t.Errorf("request log (-want +got):\n%s", d)
	}
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeLogsRequests: the served handler is the logged one.
func TestServeLogsRequests(t *testing.T) {
	_, model := preparedDataset(t)
	var log syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	addrc, errc := make(chan string, 1), make(chan error, 1)
	go func() {
		errc <- Serve(ctx, &ServeOptions{Model: model, Name: "churn", Addr: "127.0.0.1:0", Ready: func(a net.Addr) { addrc <- a.String() }}, &log)
	}()
	var addr string
	select {
	case addr = <-addrc:
	case err := <-errc:
		t.Fatal(err)
	}
	res, err := http.Get("http://" + addr + "/v2/models/churn/infer")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	var line RequestLogLine
	for _, l := range strings.Split(log.String(), "\n") {
		if strings.HasPrefix(l, "{") {
			if err := json.Unmarshal([]byte(l), &line); err != nil {
				t.Fatal(err)
			}
		}
	}
	if line.Method != "GET" || line.Path != "/v2/models/churn/infer" || line.Status != 405 || !strings.HasPrefix(line.Remote, "127.0.0.1:") {
		t.Errorf("log line = %+v in:\n%s", line, log.String())
	}
}
