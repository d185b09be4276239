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
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// startRealNode starts a control plane of our own (controlplane.go) and the node (node.go), building the
// images while the control plane comes up.
func (c *Cluster) startRealNode(ctx context.Context) error {
	if err := checkNodeHost(); err != nil {
		return err
	}
	if err := CleanupStaleNodes(c.logf); err != nil {
		c.logf("real node: cleaning up after an earlier killed run: %v", err)
	}
	ip, err := HostIP()
	if err != nil {
		return err
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	// A short folder of its own (not the test's TempDir): unix socket paths must stay under 108 bytes.
	c.nodeDir = strings.Replace(nodeDirPattern, "*", id, 1)
	if err := os.MkdirAll(c.nodeDir, 0o755); err != nil {
		return err
	}
	n := &node{ip: ip, cgroupRoot: "/" + filepath.Base(c.nodeDir)}
	index, err := pickIndex()
	if err != nil {
		return err
	}
	n.bridge = fmt.Sprintf("mlpbr%d", index)
	n.subnet, n.gateway = fmt.Sprintf("10.244.%d.0/24", index), fmt.Sprintf("10.244.%d.1", index)
	c.serviceCIDR, c.serviceIP = fmt.Sprintf("10.0.%d.0/24", index), fmt.Sprintf("10.0.%d.1", index)
	st := &nodeState{Dir: c.nodeDir, OwnerPID: os.Getpid(), OwnerStart: processStart(os.Getpid()),
		Bridge: n.bridge, CgroupRoot: n.cgroupRoot, Sysctls: readSysctls(), ServiceIP: c.serviceIP}
	for _, p := range hostPathsKubeletCreates {
		if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
			st.Created = append(st.Created, p)
		}
	}
	if err := st.save(); err != nil {
		return fmt.Errorf("error writing the node's state: %w", err)
	}
	c.state = st
	if err := makeCgroupRoot(n.cgroupRoot); err != nil {
		return err
	}
	c.HostIP = ip
	c.NodeDir, c.Bridge = c.nodeDir, n.bridge

	type built struct {
		set ImageSet
		err error
	}
	images := make(chan built, 1)
	go func() {
		start := time.Now()
		set, err := c.buildImages(ctx)
		c.logf("real node: images built in %s", time.Since(start).Round(time.Millisecond))
		images <- built{set, err}
	}()
	if err := c.startOwnControlPlane(ctx, ip); err != nil {
		<-images
		return err
	}
	img := <-images
	if img.err != nil {
		return img.err
	}
	n.Images = img.set
	c.Images = img.set
	return c.startNode(ctx, n)
}

// buildImages builds mlpipe-step from this checkout and the pause program, and packs them, busybox and
// Tekton's programs into images.
func (c *Cluster) buildImages(ctx context.Context) (ImageSet, error) {
	root, err := RepoRoot()
	if err != nil {
		return ImageSet{}, err
	}
	bin := filepath.Join(c.nodeDir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return ImageSet{}, err
	}
	step, err := BuildStepBinary(ctx, root, bin)
	if err != nil {
		return ImageSet{}, err
	}
	pause, err := BuildPauseBinary(ctx, root, bin)
	if err != nil {
		return ImageSet{}, err
	}
	tekton, err := ModuleDir(ctx, TektonModule)
	if err != nil {
		return ImageSet{}, err
	}
	_, version, _ := strings.Cut(filepath.Base(tekton), "@")
	return BuildImages(ImageInputs{
		TektonBins:    c.Tools.TektonBins,
		TektonVersion: version,
		StepBinary:    step,
		Busybox:       "/bin/busybox",
		PauseBinary:   pause,
	}, filepath.Join(c.nodeDir, "images"))
}

// pickIndex chooses the number of the node on this machine: its bridge mlpbr<i>, Pod subnet 10.244.<i>.0/24
// and Service range 10.0.<i>.0/24, unused by any other node.
func pickIndex() (int, error) {
	for i := 0; i < 200; i++ {
		name := fmt.Sprintf("mlpbr%d", i)
		if _, err := os.Stat(filepath.Join("/sys/class/net", name)); err == nil {
			continue
		}
		if bridgeClaimed(name) {
			continue
		}
		return i, nil
	}
	return 0, errors.New("no free bridge name mlpbr0..mlpbr199")
}

// bridgeClaimed says whether a node folder on this machine claims the bridge.
func bridgeClaimed(name string) bool {
	dirs, _ := filepath.Glob(nodeDirPattern)
	for _, d := range dirs {
		if data, err := os.ReadFile(filepath.Join(d, "state.json")); err == nil && strings.Contains(string(data), fmt.Sprintf("%q", name)) {
			return true
		}
	}
	return false
}

// makeCgroupRoot creates the node's cgroup in every hierarchy (the kubelet wants its cgroupRoot to exist);
// cpuset needs its CPUs and memory nodes copied from the parent before a process can join.
func makeCgroupRoot(root string) error {
	for _, h := range cgroupHierarchies() {
		dir := filepath.Join(h, root)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("error creating cgroup %s: %w", dir, err)
		}
		for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
			if v, err := os.ReadFile(filepath.Join(h, f)); err == nil {
				_ = os.WriteFile(filepath.Join(dir, f), v, 0o644)
			}
		}
	}
	return nil
}

// stopRealNode stops the node's processes (newest first) and removes everything the node left.
func (c *Cluster) stopRealNode() error {
	var errs []error
	if c.serviceProxy != nil {
		_ = c.serviceProxy.Close()
	}
	for i := len(c.procs) - 1; i >= 0; i-- {
		p := c.procs[i]
		grace := 5 * time.Second
		if strings.HasSuffix(p.logPath, "kubelet.log") {
			grace = 2 * time.Second
		}
		if err := p.stop(grace); err != nil {
			errs = append(errs, fmt.Errorf("error stopping %s: %w", filepath.Base(p.logPath), err))
		}
	}
	if c.state != nil {
		errs = append(errs, c.state.cleanup())
	}
	return errors.Join(errs...)
}

// RealNodeUnavailable says why this machine cannot run a real node (not root, no writable cgroups, packages or
// tools missing), or nil.
func RealNodeUnavailable(tools Tools, extra ...string) error {
	if missing := tools.Missing(append([]string{"node"}, extra...)...); len(missing) > 0 {
		return fmt.Errorf("test tools not built: %s; %s", strings.Join(missing, ", "), BuildHint)
	}
	return checkNodeHost()
}
