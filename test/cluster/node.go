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
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

// A real node: kube-controller-manager, kube-scheduler, containerd (Debian's, with runc and the CNI plugins) and
// a kubelet, all as child processes of the test, with the images the tests need imported into containerd.
// RECIPES.md "A real node" has the facts this follows; the traps it names are handled here:
// restrict_oom_score_adj (no CAP_SYS_RESOURCE), cgroup v1 with the cgroupfs driver, sysctls the kubelet changes
// (restored), and everything it leaves behind (see nodecleanup.go).

// NodeName is the name the real node registers as.
const NodeName = "mlpipe-node"

// StorageClassName is the default StorageClass of a real-node cluster: the harness provisions each claim as a
// host directory (provisioner.go).
const StorageClassName = "mlpipe-local"

// node holds the node's processes and what cleaning up needs.
type node struct {
	ip         string
	bridge     string
	subnet     string
	gateway    string
	cgroupRoot string
	socket     string
	Images     ImageSet
}

// checkNodeHost says why this machine cannot run a real node, or nil.
func checkNodeHost() error {
	if os.Geteuid() != 0 {
		return errors.New("a real node needs root (containerd, runc, cgroups, a bridge)")
	}
	for _, ctrl := range []string{"memory", "cpu", "pids"} {
		dir := filepath.Join("/sys/fs/cgroup", ctrl)
		if err := os.MkdirAll(filepath.Join(dir, "mlpipe-probe"), 0o755); err != nil {
			return fmt.Errorf("a real node needs a writable cgroup v1 hierarchy (%s: %v)", dir, err)
		}
		_ = os.Remove(filepath.Join(dir, "mlpipe-probe"))
	}
	for _, bin := range []string{"/usr/bin/containerd", "/usr/bin/ctr", "/usr/sbin/runc", "/usr/lib/cni/bridge", "/usr/lib/cni/host-local", "/bin/busybox"} {
		if _, err := os.Stat(bin); err != nil {
			return fmt.Errorf("%s is missing: run hack/install-node-packages.sh (make test does)", bin)
		}
	}
	return nil
}

// HostIP is this machine's own non-loopback IPv4 address: the one of the default route's interface. Pods
// reach services on the host (MinIO, a webhook receiver) at this address.
func HostIP() (string, error) {
	data, err := os.ReadFile("/proc/net/route")
	if err != nil {
		return "", err
	}
	iface := ""
	for _, line := range strings.Split(string(data), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) > 2 && f[1] == "00000000" {
			iface = f[0]
			break
		}
	}
	if iface == "" {
		return "", errors.New("no default route: cannot pick the node's address")
	}
	ifc, err := net.InterfaceByName(iface)
	if err != nil {
		return "", err
	}
	addrs, err := ifc.Addrs()
	if err != nil {
		return "", err
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil && !ipn.IP.IsLoopback() {
			return ipn.IP.String(), nil
		}
	}
	return "", fmt.Errorf("interface %s of the default route has no IPv4 address", iface)
}

// startNode starts the node's processes after the control plane; the Node is Ready when it returns.
func (c *Cluster) startNode(ctx context.Context, n *node) error {
	cp := c.plane
	dir := c.nodeDir
	start := time.Now()
	kcmConfig, err := cp.componentKubeconfig(dir, "kube-controller-manager", "system:kube-controller-manager")
	if err != nil {
		return err
	}
	schedConfig, err := cp.componentKubeconfig(dir, "kube-scheduler", "system:kube-scheduler")
	if err != nil {
		return err
	}
	kcm, err := startProcess(c.Tools.KubeControllerManager, []string{
		"--kubeconfig", kcmConfig, "--authentication-kubeconfig", kcmConfig, "--authorization-kubeconfig", kcmConfig,
		"--use-service-account-credentials=true",
		"--service-account-private-key-file", cp.saKey, "--root-ca-file", cp.pki.CAFile,
		"--leader-elect=false", "--bind-address", "127.0.0.1", "--secure-port", "0",
		"--concurrent-gc-syncs", "2",
	}, os.Environ(), filepath.Join(c.Dir, "kube-controller-manager.log"))
	if err != nil {
		return err
	}
	c.track(kcm)
	sched, err := startProcess(c.Tools.KubeScheduler, []string{
		"--kubeconfig", schedConfig, "--authentication-kubeconfig", schedConfig, "--authorization-kubeconfig", schedConfig,
		"--leader-elect=false", "--bind-address", "127.0.0.1", "--secure-port", "0",
	}, os.Environ(), filepath.Join(c.Dir, "kube-scheduler.log"))
	if err != nil {
		return err
	}
	c.track(sched)

	if err := c.startContainerd(ctx, n); err != nil {
		return err
	}
	c.logf("real node: containerd up with %d images in %s", len(n.Images.All()), time.Since(start).Round(time.Millisecond))
	if err := c.startKubelet(ctx, n); err != nil {
		return err
	}
	if err := c.waitNodeReady(ctx); err != nil {
		return fmt.Errorf("%w\ntail of kubelet.log:\n%s", err, tailFile(filepath.Join(c.Dir, "kubelet.log"), 40))
	}
	return c.startProvisioner(ctx, filepath.Join(dir, "volumes"))
}

// startContainerd writes containerd's configuration and the CNI network, starts containerd with its state in
// the node's folder and imports the images.
func (c *Cluster) startContainerd(ctx context.Context, n *node) error {
	dir := filepath.Join(c.nodeDir, "containerd")
	cniConf := filepath.Join(c.nodeDir, "cni", "net.d")
	for _, d := range []string{dir, cniConf, filepath.Join(c.nodeDir, "cni", "ipam")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	n.socket = filepath.Join(dir, "containerd.sock")
	config := fmt.Sprintf(`version = 2
root = %[1]q
state = %[2]q
[grpc]
  address = %[3]q
[ttrpc]
  address = %[4]q
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = %[5]q
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %[6]q
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  disable_apparmor = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = %[7]q
`, filepath.Join(dir, "root"), filepath.Join(dir, "state"), n.socket, n.socket+".ttrpc",
		filepath.Join(dir, "opt"), n.Images.Pause.Ref, cniConf)
	configPath := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(configPath, []byte(config), 0o644); err != nil {
		return err
	}
	network := fmt.Sprintf(`{
  "cniVersion": "0.4.0",
  "name": "mlpipe",
  "plugins": [
    {
      "type": "bridge",
      "bridge": %q,
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{"subnet": %q, "gateway": %q}]],
        "routes": [{"dst": "0.0.0.0/0"}],
        "dataDir": %q
      }
    }
  ]
}
`, n.bridge, n.subnet, n.gateway, filepath.Join(c.nodeDir, "cni", "ipam"))
	if err := os.WriteFile(filepath.Join(cniConf, "10-mlpipe.conflist"), []byte(network), 0o644); err != nil {
		return err
	}
	proc, err := startProcess("/usr/bin/containerd", []string{"--config", configPath}, append(os.Environ(), "PATH=/usr/sbin:/usr/bin:/sbin:/bin"), filepath.Join(c.Dir, "containerd.log"))
	if err != nil {
		return err
	}
	c.track(proc)
	if err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		select {
		case <-proc.done:
			return false, fmt.Errorf("containerd exited: %v\n%s", proc.err, tailFile(proc.logPath, 20))
		default:
		}
		_, err := os.Stat(n.socket)
		return err == nil, nil
	}); err != nil {
		return fmt.Errorf("containerd did not start: %w", err)
	}
	return ImportImages(ctx, "/usr/bin/ctr", n.socket, n.Images)
}

// startKubelet writes the KubeletConfiguration and starts the kubelet.
func (c *Cluster) startKubelet(ctx context.Context, n *node) error {
	cp := c.plane
	dir := filepath.Join(c.nodeDir, "kubelet")
	for _, d := range []string{dir, filepath.Join(c.nodeDir, "pod-logs"), filepath.Join(c.nodeDir, "volume-plugins")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	serving, err := cp.pki.issue(certSpec{name: "kubelet", cn: NodeName, server: true,
		ips: []net.IP{net.ParseIP(n.ip), net.ParseIP("127.0.0.1")}, dns: []string{NodeName, "localhost"}})
	if err != nil {
		return err
	}
	kubeconfigPath, err := cp.componentKubeconfig(c.nodeDir, "kubelet-client", "system:node:"+NodeName, "system:nodes")
	if err != nil {
		return err
	}
	port, err := FreePort()
	if err != nil {
		return err
	}
	healthz, err := FreePort()
	if err != nil {
		return err
	}
	config := fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: %[1]q
port: %[2]d
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: %[3]d
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: %[4]q}
authorization:
  mode: Webhook
tlsCertFile: %[5]q
tlsPrivateKeyFile: %[6]q
cgroupDriver: cgroupfs
cgroupRoot: %[7]q
cgroupsPerQOS: true
failCgroupV1: false
failSwapOn: false
containerRuntimeEndpoint: %[8]q
podLogsDir: %[9]q
volumePluginDir: %[10]q
resolvConf: /etc/resolv.conf
evictionHard:
  memory.available: "100Mi"
  nodefs.available: "1%%"
  nodefs.inodesFree: "1%%"
  imagefs.available: "1%%"
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
localStorageCapacityIsolation: false
rotateCertificates: false
serverTLSBootstrap: false
makeIPTablesUtilChains: false
syncFrequency: 10s
fileCheckFrequency: 1h
nodeStatusUpdateFrequency: 5s
maxPods: 60
`, n.ip, port, healthz, cp.pki.CAFile, serving.CertFile, serving.KeyFile, n.cgroupRoot,
		"unix://"+n.socket, filepath.Join(c.nodeDir, "pod-logs"), filepath.Join(c.nodeDir, "volume-plugins"))
	configPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(configPath, []byte(config), 0o644); err != nil {
		return err
	}
	proc, err := startProcess(c.Tools.Kubelet, []string{
		"--config", configPath, "--kubeconfig", kubeconfigPath,
		"--root-dir", filepath.Join(dir, "root"), "--cert-dir", filepath.Join(dir, "pki"),
		"--node-ip", n.ip, "--hostname-override", NodeName, "--v", "1",
	}, append(os.Environ(), "PATH=/usr/sbin:/usr/bin:/sbin:/bin"), filepath.Join(c.Dir, "kubelet.log"))
	if err != nil {
		return err
	}
	c.track(proc)
	return nil
}

// waitNodeReady waits until the node reports Ready.
func (c *Cluster) waitNodeReady(ctx context.Context) error {
	last := "not registered yet"
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		if p := c.exited(); p != nil {
			return false, fmt.Errorf("%s exited: %v", filepath.Base(p.logPath), p.err)
		}
		n, err := c.Kube.CoreV1().Nodes().Get(ctx, NodeName, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady {
				last = fmt.Sprintf("Ready=%s: %s", cond.Status, cond.Message)
				return cond.Status == corev1.ConditionTrue, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("node %s not Ready (%s): %w", NodeName, last, err)
	}
	return nil
}

// exited returns a tracked process that has exited, or nil.
func (c *Cluster) exited() *process {
	for _, p := range c.procs {
		select {
		case <-p.done:
			return p
		default:
		}
	}
	return nil
}

// track records a process the cluster started, to stop it (in reverse order) in Stop.
func (c *Cluster) track(p *process) { c.procs = append(c.procs, p) }
