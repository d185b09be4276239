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

package schedule

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/mlpipe/mlpipe/test/cluster"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

// plane is a fresh etcd + kube-apiserver (no Tekton controller, no kube-controller-manager: nothing but the
// controller under test acts on the objects) with a counting proxy in front of it for that controller.
type plane struct {
	// Admin reaches the API server directly (not through the proxy) as cluster admin.
	Admin *rest.Config
	// Proxy counts the requests of the controller under test.
	Proxy *proxy
	// Kubeconfig points at the proxy (plain http, no credentials).
	Kubeconfig string
	Dir        string
}

var setLoggerOnce sync.Once

// startPlane starts etcd and kube-apiserver through envtest with the given CRDs (files or directories) installed,
// and the counting proxy; everything stops when the test ends.
func startPlane(t *testing.T, crdPaths ...string) *plane {
	t.Helper()
	setLoggerOnce.Do(func() { ctrllog.SetLogger(logr.Discard()) })
	tools, err := cluster.FindTools()
	if err != nil {
		t.Fatal(err)
	}
	for _, bin := range []string{"etcd", "kube-apiserver"} {
		if !isExecutable(filepath.Join(tools.AssetsDir, bin)) {
			t.Fatalf("%s not built in %q (%s): run hack/bench-schedule.sh, or hack/build-tools.sh", bin, tools.AssetsDir, cluster.EnvAssets)
		}
	}
	dir := t.TempDir()
	env := &envtest.Environment{
		BinaryAssetsDirectory:    tools.AssetsDir,
		ControlPlaneStartTimeout: 90 * time.Second,
		ControlPlaneStopTimeout:  30 * time.Second,
		CRDInstallOptions: envtest.CRDInstallOptions{
			Paths: crdPaths, ErrorIfPathMissing: true, MaxTime: time.Minute, PollInterval: 50 * time.Millisecond,
		},
	}
	apiLog, err := os.Create(filepath.Join(dir, "kube-apiserver.log"))
	if err != nil {
		t.Fatal(err)
	}
	etcdLog, err := os.Create(filepath.Join(dir, "etcd.log"))
	if err != nil {
		t.Fatal(err)
	}
	apiServer := env.ControlPlane.GetAPIServer()
	apiServer.Out, apiServer.Err = apiLog, apiLog
	env.ControlPlane.Etcd = &envtest.Etcd{Out: etcdLog, Err: etcdLog}
	start := time.Now()
	cfg, err := env.Start()
	if err != nil {
		_ = env.Stop()
		t.Fatalf("error starting etcd and kube-apiserver: %v", err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Logf("error stopping the control plane: %v", err)
		}
	})
	t.Logf("control plane up in %s", time.Since(start).Round(time.Millisecond))
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = 1000, 2000
	p, err := startProxy(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	kubeconfig := filepath.Join(dir, "proxy.kubeconfig")
	kc := clientcmdapi.NewConfig()
	kc.Clusters["bench"] = &clientcmdapi.Cluster{Server: p.URL}
	kc.AuthInfos["bench"] = &clientcmdapi.AuthInfo{}
	kc.Contexts["bench"] = &clientcmdapi.Context{Cluster: "bench", AuthInfo: "bench"}
	kc.CurrentContext = "bench"
	if err := clientcmd.WriteToFile(*kc, kubeconfig); err != nil {
		t.Fatal(err)
	}
	return &plane{Admin: cfg, Proxy: p, Kubeconfig: kubeconfig, Dir: dir}
}

// proxyConfig reaches the API server through the proxy (counted), with the given client limits.
func (p *plane) proxyConfig(qps float32, burst int) *rest.Config {
	return &rest.Config{Host: p.Proxy.URL, QPS: qps, Burst: burst}
}

// request is one request the proxy forwarded.
type request struct {
	At     time.Time
	Method string
	Path   string
	Watch  bool
}

// proxy is a reverse proxy on 127.0.0.1 that forwards to the API server as cluster admin and records every
// request.
type proxy struct {
	URL string
	srv *http.Server

	mu   sync.Mutex
	reqs []request
}

func startProxy(admin *rest.Config) (*proxy, error) {
	rt, err := rest.TransportFor(admin)
	if err != nil {
		return nil, fmt.Errorf("error creating the proxy transport: %w", err)
	}
	target, err := url.Parse(admin.Host)
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &proxy{URL: "http://" + l.Addr().String()}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Header.Del("Authorization")
		},
		Transport:     rt,
		FlushInterval: -1,
		ErrorLog:      nil,
	}
	p.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.reqs = append(p.reqs, request{At: time.Now(), Method: r.Method, Path: r.URL.Path, Watch: r.URL.Query().Get("watch") == "true" || r.URL.Query().Get("watch") == "1"})
		p.mu.Unlock()
		rp.ServeHTTP(w, r)
	})}
	go func() { _ = p.srv.Serve(l) }()
	return p, nil
}

// Close stops the proxy (and cuts the watches through it).
func (p *proxy) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = p.srv.Shutdown(ctx)
	_ = p.srv.Close()
}

// Requests returns the requests made in [from, to).
func (p *proxy) Requests(from, to time.Time) []request {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []request
	for _, r := range p.reqs {
		if !r.At.Before(from) && r.At.Before(to) {
			out = append(out, r)
		}
	}
	return out
}

// Watching reports whether a watch on each resource (plural name) went through the proxy.
func (p *proxy) Watching(resources ...string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, res := range resources {
		found := false
		for _, r := range p.reqs {
			if r.Watch && classify(r).resource == res {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

type requestClass struct{ verb, resource, subresource string }

// classify turns a request into (verb, resource, subresource), the verb as the API server's audit names it.
func classify(r request) requestClass {
	parts := strings.Split(strings.Trim(r.Path, "/"), "/")
	switch {
	case len(parts) >= 2 && parts[0] == "api":
		parts = parts[2:]
	case len(parts) >= 3 && parts[0] == "apis":
		parts = parts[3:]
	default:
		return requestClass{verb: strings.ToLower(r.Method), resource: "(discovery/other)"}
	}
	if len(parts) >= 2 && parts[0] == "namespaces" && len(parts) > 2 {
		parts = parts[2:]
	}
	c := requestClass{}
	if len(parts) > 0 {
		c.resource = parts[0]
	}
	named := len(parts) > 1
	if len(parts) > 2 {
		c.subresource = parts[2]
	}
	switch r.Method {
	case http.MethodGet:
		switch {
		case r.Watch:
			c.verb = "watch"
		case named:
			c.verb = "get"
		default:
			c.verb = "list"
		}
	case http.MethodPost:
		c.verb = "create"
	case http.MethodPut:
		c.verb = "update"
	case http.MethodPatch:
		c.verb = "patch"
	case http.MethodDelete:
		c.verb = "delete"
	default:
		c.verb = strings.ToLower(r.Method)
	}
	return c
}

// process is a controller under test running as a child process.
type process struct {
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	err     error
}

func startProcess(t *testing.T, path string, args, env []string, logPath string) *process {
	t.Helper()
	log, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		log.Close()
		t.Fatalf("error starting %s: %v", path, err)
	}
	p := &process{cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		log.Close()
		close(p.done)
	}()
	t.Cleanup(func() { p.stop() })
	return p
}

// exited reports whether the process has ended.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *process) stop() {
	if p.exited() {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// procStatus reads kB fields (VmHWM, VmRSS) of /proc/<pid>/status, in MiB.
func (p *process) procStatus(field string) float64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			fields := strings.Fields(v)
			if len(fields) > 0 {
				kb, _ := strconv.ParseFloat(fields[0], 64)
				return kb / 1024
			}
		}
	}
	return 0
}

// cpuSeconds is the user + system CPU time the process has used.
func (p *process) cpuSeconds() float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	fields := strings.Fields(s[i+1:])
	// After the command: state(0) ... utime(11) stime(12), in clock ticks (100 Hz on Linux).
	if len(fields) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(fields[11], 64)
	st, _ := strconv.ParseFloat(fields[12], 64)
	return (ut + st) / 100
}

func (p *process) tail(n int) string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func isExecutable(path string) bool {
	if path == "" {
		return false
	}
	st, err := os.Stat(path)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

func freePort(t *testing.T) int {
	t.Helper()
	port, err := cluster.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return port
}
