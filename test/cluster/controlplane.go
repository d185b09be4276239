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

package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/clientcmd"
)

// controlPlane is etcd and kube-apiserver run as our own child processes (not envtest's): with x509 client
// authentication, Node+RBAC authorization and a ServiceAccount signing key, as a kubelet and
// kube-controller-manager need, and with the parent-death signal, so a killed test binary leaves no server.
type controlPlane struct {
	pki        *pki
	server     string // https://127.0.0.1:port
	admin      credential
	saKey      string
	saPub      string
	kubeconfig string
	etcd       *process
	apiserver  *process
}

func (c *Cluster) startOwnControlPlane(ctx context.Context, nodeIP string) error {
	cp := &controlPlane{}
	c.plane = cp
	var err error
	if cp.pki, err = newPKI(filepath.Join(c.nodeDir, "pki")); err != nil {
		return err
	}
	if cp.admin, err = cp.pki.issue(certSpec{name: "admin", cn: "mlpipe-admin", orgs: []string{"system:masters"}, client: true}); err != nil {
		return err
	}
	if cp.saKey, cp.saPub, err = cp.pki.serviceAccountKey(); err != nil {
		return err
	}
	serving, err := cp.pki.issue(certSpec{
		name: "apiserver", cn: "kube-apiserver", server: true,
		ips: []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP(nodeIP), net.ParseIP(c.serviceIP)},
		dns: []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
	})
	if err != nil {
		return err
	}
	kubeletClient, err := cp.pki.issue(certSpec{name: "apiserver-kubelet-client", cn: "kube-apiserver-kubelet-client", orgs: []string{"system:masters"}, client: true})
	if err != nil {
		return err
	}

	etcdPort, err := FreePort()
	if err != nil {
		return err
	}
	peerPort, err := FreePort()
	if err != nil {
		return err
	}
	etcdURL := "http://127.0.0.1:" + strconv.Itoa(etcdPort)
	cp.etcd, err = startProcess(c.Tools.etcd(), []string{
		"--name", "mlpipe-test",
		"--data-dir", filepath.Join(c.nodeDir, "etcd"),
		"--listen-client-urls", etcdURL, "--advertise-client-urls", etcdURL,
		"--listen-peer-urls", "http://127.0.0.1:" + strconv.Itoa(peerPort),
		"--initial-advertise-peer-urls", "http://127.0.0.1:" + strconv.Itoa(peerPort),
		"--initial-cluster", "mlpipe-test=http://127.0.0.1:" + strconv.Itoa(peerPort),
		"--unsafe-no-fsync", "--quota-backend-bytes", strconv.Itoa(2 << 30),
	}, os.Environ(), filepath.Join(c.Dir, "etcd.log"))
	if err != nil {
		return err
	}
	c.track(cp.etcd)

	port, err := FreePort()
	if err != nil {
		return err
	}
	cp.server = "https://127.0.0.1:" + strconv.Itoa(port)
	args := []string{
		"--etcd-servers", etcdURL,
		"--bind-address", "0.0.0.0", "--secure-port", strconv.Itoa(port), "--advertise-address", nodeIP,
		"--cert-dir", filepath.Join(c.nodeDir, "apiserver"),
		"--tls-cert-file", serving.CertFile, "--tls-private-key-file", serving.KeyFile,
		"--client-ca-file", cp.pki.CAFile,
		"--kubelet-client-certificate", kubeletClient.CertFile, "--kubelet-client-key", kubeletClient.KeyFile,
		"--kubelet-certificate-authority", cp.pki.CAFile,
		// The node's name does not resolve (no DNS for it): reach the kubelet (logs, exec) at its address.
		"--kubelet-preferred-address-types", "InternalIP,Hostname",
		"--authorization-mode", "Node,RBAC",
		"--enable-admission-plugins", "NodeRestriction",
		"--service-cluster-ip-range", c.serviceCIDR,
		"--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file", cp.saPub, "--service-account-signing-key-file", cp.saKey,
		"--allow-privileged=true", "--profiling=false", "--enable-priority-and-fairness=false",
	}
	if c.aggregatorRouting {
		args = append(args, "--enable-aggregator-routing=true")
	}
	cp.apiserver, err = startProcess(c.Tools.kubeAPIServer(), args, os.Environ(), filepath.Join(c.Dir, "kube-apiserver.log"))
	if err != nil {
		return err
	}
	c.track(cp.apiserver)

	cp.kubeconfig = filepath.Join(c.Dir, "kubeconfig")
	if err := kubeconfig(cp.kubeconfig, cp.server, cp.pki.CAFile, cp.admin); err != nil {
		return err
	}
	if err := cp.waitReady(ctx); err != nil {
		return fmt.Errorf("%w\ntail of kube-apiserver.log:\n%s", err, tailFile(cp.apiserver.logPath, 30))
	}
	if err := c.startServiceProxy(port); err != nil {
		return err
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", cp.kubeconfig)
	if err != nil {
		return fmt.Errorf("error reading %s: %w", cp.kubeconfig, err)
	}
	return c.useConfig(cfg, cp.kubeconfig)
}

// componentKubeconfig writes a kubeconfig for a component that authenticates as cn in orgs.
func (cp *controlPlane) componentKubeconfig(dir, name, cn string, orgs ...string) (string, error) {
	cred, err := cp.pki.issue(certSpec{name: name, cn: cn, orgs: orgs, client: true})
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, name+".kubeconfig")
	return path, kubeconfig(path, cp.server, cp.pki.CAFile, cred)
}

// waitReady waits until kube-apiserver answers /readyz.
func (cp *controlPlane) waitReady(ctx context.Context) error {
	pool := x509.NewCertPool()
	caPEM, err := os.ReadFile(cp.pki.CAFile)
	if err != nil {
		return err
	}
	pool.AppendCertsFromPEM(caPEM)
	cert, err := tls.LoadX509KeyPair(cp.admin.CertFile, cp.admin.KeyFile)
	if err != nil {
		return err
	}
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}},
	}}
	last := "not started"
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 90*time.Second, true, func(ctx context.Context) (bool, error) {
		for _, p := range []*process{cp.etcd, cp.apiserver} {
			select {
			case <-p.done:
				return false, fmt.Errorf("%s exited: %v", filepath.Base(p.logPath), p.err)
			default:
			}
		}
		resp, err := client.Get(cp.server + "/readyz")
		if err != nil {
			last = err.Error()
			return false, nil
		}
		resp.Body.Close()
		last = resp.Status
		return resp.StatusCode == http.StatusOK, nil
	})
	if err != nil {
		return fmt.Errorf("kube-apiserver not ready (%s): %w", last, err)
	}
	return nil
}
