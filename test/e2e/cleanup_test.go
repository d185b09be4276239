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
package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mlpipe/mlpipe/test/cluster"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
)

// childNodeEnv makes the test binary start a real node with a running Pod, print its folder and bridge, and
// wait to be killed (TestRealNodeKilledRunIsCleanedUp).
const childNodeEnv = "MLPIPE_E2E_CHILD_NODE"

// runChildNode is the child's side: it never returns.
func runChildNode() {
	fail := func(err error) { fmt.Printf("ERROR %v\n", err); os.Exit(1) }
	tools, err := cluster.FindTools()
	if err != nil {
		fail(err)
	}
	dir, err := os.MkdirTemp("", "mlpipe-e2e-child-")
	if err != nil {
		fail(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := cluster.New(ctx, cluster.Options{Dir: dir, Tools: tools, RealNode: true})
	if err != nil {
		fail(err)
	}
	fmt.Printf("NODE %s %s\n", c.NodeDir, c.Bridge)
	ns, err := c.CreateNamespace(ctx, "killed", true)
	if err != nil {
		fail(err)
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "sleeper", Namespace: ns},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "sleep", Image: c.Images.Shell.Ref, Command: []string{"sleep", "3600"},
			ImagePullPolicy: corev1.PullNever, SecurityContext: restrictedStep(),
		}}, SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true)}},
	}
	if _, err := c.Kube.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		fail(err)
	}
	if err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		p, err := c.Kube.CoreV1().Pods(ns).Get(ctx, "sleeper", metav1.GetOptions{})
		return err == nil && p.Status.Phase == corev1.PodRunning, nil
	}); err != nil {
		fail(fmt.Errorf("pod not running: %w", err))
	}
	fmt.Println("READY")
	select {}
}

// TestRealNodeKilledRunIsCleanedUp kills (SIGKILL) a test binary whose real node runs a Pod, as a `go test`
// timeout does: the parent-death signal takes etcd, kube-apiserver, the kubelet and containerd with it; what
// survives it (containerd's shim and the container, mounts, cgroups, the bridge) is removed by the next start's
// stale-state cleanup, which this test calls directly.
func TestRealNodeKilledRunIsCleanedUp(t *testing.T) {
	realNode(t) // skips or fails as the other real-node tests do; the child runs a node of its own
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childNodeEnv+"=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var dir, bridge string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		if f := strings.Fields(line); len(f) == 3 && f[0] == "NODE" {
			dir, bridge = f[1], f[2]
		}
		if line == "READY" {
			break
		}
		if strings.HasPrefix(line, "ERROR") {
			_ = cmd.Process.Kill()
			t.Fatalf("child node: %s", line)
		}
	}
	if dir == "" {
		_ = cmd.Process.Kill()
		t.Fatal("the child printed no node folder")
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	time.Sleep(2 * time.Second) // the parent-death signal reaches the children
	left := cluster.NodeLeftOver(dir, bridge)
	t.Logf("left by the killed run before cleanup: %d items, e.g. %v", len(left), first(left, 6))
	for _, l := range left {
		for _, name := range []string{"etcd", "kube-apiserver", "kubelet", "/usr/bin/containerd "} {
			if strings.HasPrefix(l, "process") && strings.Contains(l, name) && !strings.Contains(l, "shim") {
				t.Errorf("%s survived its parent: %s", name, l)
			}
		}
	}
	if err := cluster.CleanupStaleNodes(t.Logf); err != nil {
		t.Errorf("cleanup: %v", err)
	}
	if left := cluster.NodeLeftOver(dir, bridge); len(left) > 0 {
		t.Errorf("after the stale-state cleanup the killed run still left: %v", left)
	}
}

func first(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
