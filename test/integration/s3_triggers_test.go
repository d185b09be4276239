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
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mlpipe/mlpipe/pkg/events"
	"github.com/mlpipe/mlpipe/pkg/events/engine"
	"github.com/mlpipe/mlpipe/pkg/generate"
	"github.com/mlpipe/mlpipe/pkg/interceptor"
	"github.com/mlpipe/mlpipe/pkg/spec"
	"github.com/mlpipe/mlpipe/test/cluster"
	tektonlisters "github.com/tektoncd/pipeline/pkg/client/listers/pipeline/v1"
	triggerscontexts "github.com/tektoncd/triggers/pkg/apis/triggers/contexts"
	triggersv1alpha1 "github.com/tektoncd/triggers/pkg/apis/triggers/v1alpha1"
	triggersv1 "github.com/tektoncd/triggers/pkg/apis/triggers/v1beta1"
	triggersclient "github.com/tektoncd/triggers/pkg/client/clientset/versioned"
	"github.com/tektoncd/triggers/pkg/interceptors"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	certresources "knative.dev/pkg/webhook/certificates/resources"
)

// Environment variables naming the Triggers binaries (hack/build-triggers.sh --env).
const (
	envELSinkBin = "MLPIPE_EL_SINK_BIN"
	// s3Pipeline is the pipeline of examples/pytorch-gpu, whose spec has triggers.s3.
	s3Pipeline = "fraud"
	// s3Bucket and s3Prefix are its filter.
	s3Bucket, s3Prefix = "datasets", "fraud/"
	// s3Token is the bearer token of the tests.
	s3Token = "s3cr3t-bearer-token"
	// interceptorNS holds the interceptor's TLS Secret (its SYSTEM_NAMESPACE).
	interceptorNS = generate.InterceptorNamespace
	// interceptorTLSSecret is the Secret with the CA and the server certificate.
	interceptorTLSSecret = "mlpipe-webhooks-certs"
)

// sinkCreateFailed is logged by the sink once per create that failed (v0.37.0 logs each failure twice: this
// line from CreateResources and one from processTrigger; both contain the API error, e.g. "already exists").
const sinkCreateFailed = `"message":"problem creating obj`

// s3SinkBin returns the EventListener sink binary or skips (fails with MLPIPE_REQUIRE_TOOLS) the test.
func s3SinkBin(t testing.TB) string {
	t.Helper()
	bin := os.Getenv(envELSinkBin)
	if bin == "" {
		if root, err := cluster.RepoRoot(); err == nil {
			out, _ := exec.Command("bash", filepath.Join(root, "hack", "build-triggers.sh"), "--env").Output()
			for _, l := range strings.Split(string(out), "\n") {
				if v, ok := strings.CutPrefix(strings.TrimSpace(l), "export "+envELSinkBin+"="); ok {
					bin = strings.Trim(v, `'"`)
				}
			}
		}
	}
	if st, err := os.Stat(bin); err != nil || st.Mode()&0o111 == 0 {
		msg := fmt.Sprintf("Tekton Triggers' EventListener sink is not built (%s=%q): run hack/build-triggers.sh", envELSinkBin, bin)
		if os.Getenv(cluster.EnvRequireTools) == "true" || os.Getenv(cluster.EnvRequireTools) == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return bin
}

// s3Spec loads examples/pytorch-gpu (the example with triggers.s3) into namespace ns. Its marker filter is
// dropped so that every .csv object starts a run (the run is then for the object itself).
func s3Spec(t testing.TB, ns string) *spec.MLPipeline {
	t.Helper()
	s, err := spec.LoadFile(filepath.Join("..", "..", "examples", "pytorch-gpu", "mlpipe.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Spec.Triggers == nil || s.Spec.Triggers.S3 == nil {
		t.Fatal("examples/pytorch-gpu has no triggers.s3")
	}
	s.Metadata.Namespace = ns
	s.Spec.Triggers.S3.Marker = ""
	return s
}

// s3Generated renders the spec and returns its triggers/ files and the sample PipelineRun.
func s3Generated(t testing.TB, s *spec.MLPipeline) (*generate.Output, map[string][]byte) {
	t.Helper()
	out, err := generate.Generate(context.Background(), s, generate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, f := range out.Files {
		if strings.HasPrefix(f.Name, "triggers/") {
			files[f.Name] = f.Data
		}
	}
	if len(files) != 5 {
		t.Fatalf("generated %d triggers/ files, want 5", len(files))
	}
	return out, files
}

// s3DecodeDocs decodes a YAML stream into objects.
func s3DecodeDocs(t testing.TB, data []byte) []*unstructured.Unstructured {
	t.Helper()
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var objs []*unstructured.Unstructured
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return objs
			}
			t.Fatal(err)
		}
		if len(u.Object) > 0 {
			objs = append(objs, u)
		}
	}
}

// s3WithDefaults applies what Triggers' defaulting webhook (absent here) would: SetDefaults of the typed object,
// with the upgrade-via-defaulting context the webhook uses.
func s3WithDefaults(t testing.TB, u *unstructured.Unstructured) *unstructured.Unstructured {
	t.Helper()
	ctx := triggerscontexts.WithUpgradeViaDefaulting(context.Background())
	var obj interface {
		runtime.Object
		SetDefaults(context.Context)
	}
	switch u.GetKind() {
	case "EventListener":
		obj = &triggersv1.EventListener{}
	case "Trigger":
		obj = &triggersv1.Trigger{}
	case "TriggerBinding":
		obj = &triggersv1.TriggerBinding{}
	case "TriggerTemplate":
		obj = &triggersv1.TriggerTemplate{}
	case "ClusterInterceptor":
		obj = &triggersv1alpha1.ClusterInterceptor{}
	default:
		return u
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, obj); err != nil {
		t.Fatalf("%s %s: %v", u.GetKind(), u.GetName(), err)
	}
	obj.SetDefaults(ctx)
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		t.Fatal(err)
	}
	out := &unstructured.Unstructured{Object: m}
	unstructured.RemoveNestedField(out.Object, "status")
	unstructured.RemoveNestedField(out.Object, "metadata", "creationTimestamp")
	out.SetGroupVersionKind(u.GroupVersionKind())
	return out
}

// s3ApplyTriggers applies the generated triggers/ files into ns, with Triggers' defaults; mutate (optional) edits
// each object first. The ClusterInterceptor is pointed at interceptorURL (no cluster DNS here).
func s3ApplyTriggers(t testing.TB, c *cluster.Cluster, ns string, files map[string][]byte, interceptorURL string, mutate func(u *unstructured.Unstructured)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// The ClusterInterceptor is installed once per cluster with mlpipe-webhooks (config/410-webhooks.yaml),
	// not per pipeline: take it from there.
	root, err := cluster.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	install, err := os.ReadFile(filepath.Join(root, "config", "410-webhooks.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	files = maps.Clone(files)
	files["config/410-webhooks.yaml#ClusterInterceptor"] = install
	for _, name := range []string{"triggers/rbac.yaml", "config/410-webhooks.yaml#ClusterInterceptor", "triggers/triggerbinding.yaml",
		"triggers/triggertemplate.yaml", "triggers/trigger.yaml", "triggers/eventlistener.yaml"} {
		for _, u := range s3DecodeDocs(t, files[name]) {
			if strings.HasPrefix(name, "config/") && u.GetKind() != "ClusterInterceptor" {
				continue
			}
			if u.GetKind() == "ClusterInterceptor" {
				// What an in-cluster install resolves from the Service, as a URL on loopback.
				unstructured.RemoveNestedField(u.Object, "spec", "clientConfig", "service")
				if err := unstructured.SetNestedField(u.Object, interceptorURL, "spec", "clientConfig", "url"); err != nil {
					t.Fatal(err)
				}
			}
			if mutate != nil {
				mutate(u)
			}
			u = s3WithDefaults(t, u)
			data, err := json.Marshal(u.Object)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.ApplyYAML(ctx, ns, data); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
	}
	// The Secret the Trigger's tokenSecretRef names (the rbac.yaml comment tells users to create it).
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: s3Pipeline + "-s3-webhook", Namespace: ns},
		StringData: map[string]string{"token": s3Token}}
	if _, err := c.Kube.CoreV1().Secrets(ns).Create(ctx, sec, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

// s3SelfSignedTLS returns a CA and a server certificate for 127.0.0.1 signed by it, all PEM.
func s3SelfSignedTLS(t testing.TB) (caPEM, certPEM, keyPEM []byte) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mlpipe-test-ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"mlpipe-webhooks.mlpipe-system.svc"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
}

// s3ServedInterceptor is mlpipe's interceptor served in-process over HTTPS on loopback.
type s3ServedInterceptor struct {
	URL string
	// Calls counts the interceptor requests answered.
	Calls atomic.Int64
	// Runs, when set before serve, is the PipelineRun cache the interceptor's policy reads (nil: none, Allow only).
	Runs tektonlisters.PipelineRunLister
	ln   net.Listener
	ca   []byte
}

// s3ListenInterceptor reserves the interceptor's address, so the ClusterInterceptor can name it before it serves.
func s3ListenInterceptor(t testing.TB) *s3ServedInterceptor {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return &s3ServedInterceptor{URL: "https://" + ln.Addr().String() + "/" + interceptor.Name, ln: ln}
}

// serve pre-fills the interceptor's TLS Secret with a CA and a certificate for 127.0.0.1, lets ManageCerts
// (Triggers' own certificate code) publish the CA into the ClusterInterceptor's caBundle, waits for it there,
// and serves the interceptor with Serve. The ClusterInterceptor must exist already.
func (si *s3ServedInterceptor) serve(t testing.TB, c *cluster.Cluster, qps float32) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	cfg := rest.CopyConfig(c.Config)
	cfg.QPS, cfg.Burst = qps, int(2*qps)
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tc, err := triggersclient.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateNamespace(ctx, interceptorNS, false); err != nil {
		t.Fatal(err)
	}
	caPEM, certPEM, keyPEM := s3SelfSignedTLS(t)
	si.ca = caPEM
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: interceptorTLSSecret, Namespace: interceptorNS}, Data: map[string][]byte{
		certresources.CACert: caPEM, certresources.ServerCert: certPEM, certresources.ServerKey: keyPEM,
	}}
	if _, err := kube.CoreV1().Secrets(interceptorNS).Create(ctx, sec, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var eng *engine.Engine
	if si.Runs != nil {
		eng = &engine.Engine{Runs: si.Runs}
	}
	ic := interceptor.New(interceptors.DefaultSecretGetter(kube.CoreV1()), eng, nil)
	certs, err := interceptor.ManageCerts(ctx, ic, kube, tc, interceptor.TLSOptions{
		Namespace: interceptorNS, SecretName: interceptorTLSSecret, ServiceName: generate.InterceptorService,
	})
	if err != nil {
		t.Fatalf("ManageCerts: %v", err)
	}
	h := certs.Handler()
	counting := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		si.Calls.Add(1)
	})
	go func() {
		if err := interceptor.Serve(ctx, si.ln, counting, certs.GetCertificate); err != nil && ctx.Err() == nil {
			t.Errorf("interceptor: %v", err)
		}
	}()
	// ManageCerts patched the CA into the ClusterInterceptor, as Triggers' core interceptors do.
	deadline := time.Now().Add(20 * time.Second)
	for {
		ci, err := tc.TriggersV1alpha1().ClusterInterceptors().Get(ctx, interceptor.Name, metav1.GetOptions{})
		if err == nil && bytes.Equal(ci.Spec.ClientConfig.CaBundle, caPEM) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the ClusterInterceptor's caBundle never became the Secret's CA (err %v)", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitCalls waits until the interceptor has answered at least n requests.
func (si *s3ServedInterceptor) waitCalls(t testing.TB, n int64, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for si.Calls.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("interceptor answered %d requests, want %d", si.Calls.Load(), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// s3ServiceAccountKubeconfig writes a kubeconfig that authenticates as ns/sa with a TokenRequest token, so a
// process runs with exactly the generated RBAC.
func s3ServiceAccountKubeconfig(t testing.TB, c *cluster.Cluster, ns, sa string) string {
	t.Helper()
	ctx := context.Background()
	exp := int64(3600)
	tr, err := c.Kube.CoreV1().ServiceAccounts(ns).CreateToken(ctx, sa, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &exp}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("TokenRequest for %s/%s: %v", ns, sa, err)
	}
	kc := clientcmdapi.NewConfig()
	kc.Clusters["test"] = &clientcmdapi.Cluster{Server: c.Config.Host, CertificateAuthorityData: c.Config.CAData}
	kc.AuthInfos[sa] = &clientcmdapi.AuthInfo{Token: tr.Status.Token}
	kc.Contexts["test"] = &clientcmdapi.Context{Cluster: "test", AuthInfo: sa, Namespace: ns}
	kc.CurrentContext = "test"
	path := filepath.Join(t.TempDir(), "kubeconfig-"+sa)
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// s3ElSink is Tekton Triggers' EventListener sink running as a process.
type s3ElSink struct {
	URL     string
	logPath string
}

// s3StartSink runs the EventListener sink binary for EventListener ns/el with client limits qps/burst and
// waits until it serves; the process is SIGKILLed when the test ends (SIGTERM does not stop it).
func s3StartSink(t testing.TB, kubeconfig, ns, el string, qps float64) *s3ElSink {
	t.Helper()
	bin := s3SinkBin(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	logPath := filepath.Join(t.TempDir(), "el-sink-"+ns+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--kubeconfig="+kubeconfig, "--el-name="+el, "--el-namespace="+ns, fmt.Sprintf("--port=%d", port),
		fmt.Sprintf("--kube-api-qps=%g", qps), fmt.Sprintf("--kube-api-burst=%d", int(2*qps)))
	// Later entries win: ManageCerts set SYSTEM_NAMESPACE in this process for the interceptor.
	cmd.Env = append(os.Environ(), "SYSTEM_NAMESPACE="+ns, "NAMESPACE="+ns, "NAME="+el, "EL_EVENT=disable", "K_SINK_TIMEOUT=5")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
		logFile.Close()
		if dir := os.Getenv("MLPIPE_S3_KEEP_LOGS"); dir != "" {
			if data, err := os.ReadFile(logPath); err == nil {
				_ = os.WriteFile(filepath.Join(dir, filepath.Base(logPath)), data, 0o644)
			}
		}
		if t.Failed() {
			t.Logf("tail of the EventListener sink log %s:\n%s", logPath, s3Tail(logPath, 30))
		}
	})
	s := &s3ElSink{URL: fmt.Sprintf("http://127.0.0.1:%d/", port), logPath: logPath}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(s.URL + "live")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		select {
		case <-exited:
			t.Fatalf("the EventListener sink exited:\n%s", s3Tail(logPath, 40))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the EventListener sink did not serve within 60 s:\n%s", s3Tail(logPath, 40))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// count counts the log lines that contain s.
func (s *s3ElSink) count(substr string) int {
	data, _ := os.ReadFile(s.logPath)
	return bytes.Count(data, []byte(substr))
}

// waitLog waits until the sink has logged substr at least n times.
func (s *s3ElSink) waitLog(t testing.TB, substr string, n int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for s.count(substr) < n {
		if time.Now().After(deadline) {
			t.Fatalf("the sink logged %q %d times, want %d", substr, s.count(substr), n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func s3Tail(path string, n int) string {
	data, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// s3RecordingProxy forwards requests to target and keeps their bodies (to redeliver exactly what MinIO sent).
type s3RecordingProxy struct {
	URL    string
	mu     sync.Mutex
	bodies [][]byte
	header []http.Header
}

func s3NewRecordingProxy(t testing.TB, target string) *s3RecordingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &s3RecordingProxy{URL: "http://" + ln.Addr().String() + "/"}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		p.mu.Lock()
		p.bodies = append(p.bodies, body)
		p.header = append(p.header, r.Header.Clone())
		p.mu.Unlock()
		req, _ := http.NewRequestWithContext(r.Context(), r.Method, target, bytes.NewReader(body))
		req.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return p
}

func (p *s3RecordingProxy) recorded() ([][]byte, []http.Header) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([][]byte(nil), p.bodies...), append([]http.Header(nil), p.header...)
}

// s3MinioBody is a MinIO put notification as MinIO sends it (key URL-encoded, '/' included).
func s3MinioBody(bucket, key, etag, sequencer string) []byte {
	enc := url.QueryEscape(key)
	return []byte(fmt.Sprintf(`{"EventName":"s3:ObjectCreated:Put","Key":%q,"Records":[{"eventVersion":"2.0","eventSource":"minio:s3",`+
		`"awsRegion":"","eventTime":%q,"eventName":"s3:ObjectCreated:Put","userIdentity":{"principalId":"mlpipe-test"},`+
		`"requestParameters":{"principalId":"mlpipe-test","region":"","sourceIPAddress":"127.0.0.1"},"responseElements":{},`+
		`"s3":{"s3SchemaVersion":"1.0","configurationId":"Config","bucket":{"name":%q,"ownerIdentity":{"principalId":"mlpipe-test"},`+
		`"arn":"arn:aws:s3:::%s"},"object":{"key":%q,"size":8,"eTag":%q,"contentType":"text/csv","sequencer":%q}},`+
		`"source":{"host":"127.0.0.1","port":"","userAgent":"mlpipe-test"}}]}`,
		bucket+"/"+key, time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), bucket, bucket, enc, etag, sequencer))
}

// s3RunNameFor is the run name mlpipe derives for a notification body (the first object).
func s3RunNameFor(t testing.TB, body []byte) (string, *events.Object) {
	t.Helper()
	n, err := events.Decode(body)
	if err != nil || len(n.Objects) == 0 {
		t.Fatalf("decoding %s: %v", body, err)
	}
	return n.Objects[0].RunName(s3Pipeline), &n.Objects[0]
}

// deliver posts a notification body with a bearer token (none when token is empty) and returns the status.
func s3Deliver(client *http.Client, target, token string, body []byte) (int, error) {
	req, err := http.NewRequest(http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// TestS3TriggersSinkExactlyOnce runs the real path of issue 7: a real MinIO notifies Tekton Triggers' real
// EventListener sink (v0.37.0), which calls mlpipe's interceptor over HTTPS (its CA published by ManageCerts),
// resolves the generated TriggerBinding and TriggerTemplate, and creates one PipelineRun on the real API server,
// named from the object's dedup key. The sink runs as the generated ServiceAccount, so the generated RBAC is
// what it has. The same notification delivered twice more adds no run; a bad or missing token starts nothing.
func TestS3TriggersSinkExactlyOnce(t *testing.T) {
	s3SinkBin(t)
	c := cluster.Start(t, cluster.WithTriggers(), cluster.WithTools("minio"))
	ns := c.NewNamespace(t, false)
	ctx := context.Background()
	_, files := s3Generated(t, s3Spec(t, ns))

	si := s3ListenInterceptor(t)
	s3ApplyTriggers(t, c, ns, files, si.URL, nil)
	si.serve(t, c, 50)

	listener := s3Pipeline + "-s3"
	sink := s3StartSink(t, s3ServiceAccountKubeconfig(t, c, ns, s3Pipeline+"-s3-listener"), ns, listener, 50)
	proxy := s3NewRecordingProxy(t, sink.URL)
	m := startNotifyingMinIO(t, c.Tools.MinIO, proxy.URL, s3Token)
	m.bucket(t, s3Bucket, s3Prefix)

	runs := func() int {
		list, err := c.Tekton.TektonV1().PipelineRuns(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return len(list.Items)
	}
	waitRun := func(name string, within time.Duration) {
		t.Helper()
		deadline := time.Now().Add(within)
		for {
			_, err := c.Tekton.TektonV1().PipelineRuns(ns).Get(ctx, name, metav1.GetOptions{})
			if err == nil {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("PipelineRun %s not created within %s: %v", name, within, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	// 1. An upload to the real MinIO → exactly one run with the object's URI.
	const key = "fraud/2024 report+final.csv"
	m.put(t, s3Bucket, key, "a,b\n1,2\n")
	deadline := time.Now().Add(30 * time.Second)
	var bodies [][]byte
	var headers []http.Header
	for len(bodies) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("MinIO sent no notification")
		}
		time.Sleep(50 * time.Millisecond)
		bodies, headers = proxy.recorded()
	}
	if got := headers[0].Get("Authorization"); got != "Bearer "+s3Token {
		t.Errorf("MinIO sent Authorization %q", got)
	}
	name, obj := s3RunNameFor(t, bodies[0])
	waitRun(name, 30*time.Second)
	si.waitCalls(t, 1, 5*time.Second)
	pr, err := c.Tekton.TektonV1().PipelineRuns(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantURI := "s3://" + s3Bucket + "/" + key
	if obj.URI != wantURI {
		t.Errorf("decoded URI %q, want %q", obj.URI, wantURI)
	}
	if len(pr.Spec.Params) != 1 || pr.Spec.Params[0].Name != "data-uri" || pr.Spec.Params[0].Value.StringVal != wantURI {
		t.Errorf("params %+v, want data-uri=%s", pr.Spec.Params, wantURI)
	}
	for k, v := range map[string]string{"tekton.dev/pipeline": s3Pipeline, "mlpipe.dev/trigger": "s3",
		"triggers.tekton.dev/eventlistener": listener, "triggers.tekton.dev/trigger": listener} {
		if pr.Labels[k] != v {
			t.Errorf("label %s=%q, want %q (labels %v)", k, pr.Labels[k], v, pr.Labels)
		}
	}
	for k, v := range map[string]string{"mlpipe.dev/s3-dedup-key": obj.DedupKey, "mlpipe.dev/s3-uri": wantURI,
		"mlpipe.dev/s3-etag": obj.ETag, "mlpipe.dev/s3-bucket": s3Bucket, "mlpipe.dev/s3-key": key} {
		if pr.Annotations[k] != v {
			t.Errorf("annotation %s=%q, want %q", k, pr.Annotations[k], v)
		}
	}
	if pr.Spec.PipelineRef == nil || pr.Spec.PipelineRef.Name != s3Pipeline {
		t.Errorf("pipelineRef %+v", pr.Spec.PipelineRef)
	}
	t.Logf("run %s for %s (dedup key %s)", name, wantURI, obj.DedupKey)

	// 2. The same notification body delivered twice more, straight to the sink → still one run.
	client := &http.Client{Timeout: 10 * time.Second}
	exists := sink.count(sinkCreateFailed)
	for i := 0; i < 2; i++ {
		code, err := s3Deliver(client, sink.URL, s3Token, bodies[0])
		if err != nil || code != http.StatusAccepted {
			t.Fatalf("redelivery %d: %d %v", i, code, err)
		}
	}
	si.waitCalls(t, 3, 15*time.Second)
	sink.waitLog(t, sinkCreateFailed, exists+2, 15*time.Second)
	if n := runs(); n != 1 {
		t.Fatalf("%d PipelineRuns after the duplicate deliveries, want 1", n)
	}

	// 3. A new object with a wrong token, and with none: the sink answers 202 (it always does), the interceptor
	// refuses, nothing starts. The same body with the right token then starts its run.
	other := s3MinioBody(s3Bucket, "fraud/other.csv", "0123456789abcdef0123456789abcdef", "18EBD22EA01481AB")
	otherName, _ := s3RunNameFor(t, other)
	calls := si.Calls.Load()
	for _, tok := range []string{"wrong-token", ""} {
		code, err := s3Deliver(client, sink.URL, tok, other)
		if err != nil || code != http.StatusAccepted {
			t.Fatalf("delivery with token %q: %d %v", tok, code, err)
		}
	}
	si.waitCalls(t, calls+2, 15*time.Second)
	time.Sleep(time.Second) // the sink acts on the interceptor's answer right after it
	if _, err := c.Tekton.TektonV1().PipelineRuns(ns).Get(ctx, otherName, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("a delivery without a valid token started %s (err %v)", otherName, err)
	}
	if n := runs(); n != 1 {
		t.Fatalf("%d PipelineRuns after unauthenticated deliveries, want 1", n)
	}
	if code, err := s3Deliver(client, sink.URL, s3Token, other); err != nil || code != http.StatusAccepted {
		t.Fatalf("good delivery: %d %v", code, err)
	}
	waitRun(otherName, 30*time.Second)
	if n := runs(); n != 2 {
		t.Fatalf("%d PipelineRuns, want 2", n)
	}

	// 4. The same kind of event relayed by SNS (AWS S3 cannot call a webhook itself): the interceptor unwraps
	// the SNS message, and a redelivery still starts one run.
	inner := s3MinioBody(s3Bucket, "fraud/via-sns.csv", "fedcba9876543210fedcba9876543210", "18EBD22EA01481AC")
	viaSNS, err := json.Marshal(map[string]string{"Type": "Notification", "MessageId": "m-1", "TopicArn": "arn:aws:sns:us-east-1:123456789012:fraud", "Message": string(inner)})
	if err != nil {
		t.Fatal(err)
	}
	snsName, _ := s3RunNameFor(t, viaSNS)
	for i := 0; i < 2; i++ {
		if code, err := s3Deliver(client, sink.URL, s3Token, viaSNS); err != nil || code != http.StatusAccepted {
			t.Fatalf("SNS delivery %d: %d %v", i+1, code, err)
		}
	}
	waitRun(snsName, 30*time.Second)
	si.waitCalls(t, si.Calls.Load(), 15*time.Second)
	time.Sleep(time.Second)
	if n := runs(); n != 3 {
		t.Fatalf("%d PipelineRuns after an SNS-relayed event delivered twice, want 3", n)
	}
}
