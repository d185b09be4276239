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

// Package clusteraccesstest starts a stand-in Kubernetes API server that records every request, and writes a
// kubeconfig naming it, so tests can prove that code does or does not contact "the cluster".
package clusteraccesstest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// APIServer is a recording stand-in for a Kubernetes API server. Discovery (/api, /apis) answers 200; every
// other request answers 403, so a client that tries to apply fails at once instead of waiting.
type APIServer struct {
	// Kubeconfig is the path of a kubeconfig whose current context points at the server.
	Kubeconfig string

	mu       sync.Mutex
	requests []string
}

// NewAPIServer starts an APIServer that is closed when the test ends.
func NewAPIServer(t testing.TB) *APIServer {
	t.Helper()
	s := &APIServer{}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	s.Kubeconfig = WriteKubeconfig(t, srv.URL, "default")
	return s
}

// WriteKubeconfig writes a kubeconfig whose current context names the server at url with a token and the
// namespace, and returns its path (in the test's temporary folder).
func WriteKubeconfig(t testing.TB, url, namespace string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	config := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: recorder, cluster: {server: %q}}]
users: [{name: recorder, user: {token: test-token}}]
contexts: [{name: recorder, context: {cluster: recorder, user: recorder, namespace: %s}}]
current-context: recorder
`, url, namespace)
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Requests returns "METHOD /path" for every request received so far.
func (s *APIServer) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

func (s *APIServer) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, r.Method+" "+r.URL.Path)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/api":
		fmt.Fprint(w, `{"kind":"APIVersions","versions":["v1"],"serverAddressByClientCIDRs":[]}`)
	case "/apis":
		fmt.Fprint(w, `{"kind":"APIGroupList","apiVersion":"v1","groups":[]}`)
	default:
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Forbidden","code":403,`+
			`"message":"clusteraccesstest: request recorded and refused"}`)
	}
}
