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
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// What a real node leaves on the machine, and how it is removed: by Stop, and, when a test binary was killed
// before it could stop (a `go test` timeout, SIGKILL), by the next start, which finds the killed run's state file.
//
// Processes are started with the parent-death signal (process_linux.go), so etcd, kube-apiserver, the kubelet
// and containerd die with the test binary; containerd's shims and the containers under them do not, and neither
// do mounts, cgroups, the bridge and the sysctls the kubelet changed.

// nodeDirPattern matches the folders of real nodes; each holds a state.json.
const nodeDirPattern = "/tmp/mlpipe-node-*"

// kubeletSysctls are the sysctls the kubelet sets at start (protectKernelDefaults=false): restored at cleanup.
var kubeletSysctls = []string{"vm/overcommit_memory", "kernel/panic", "kernel/panic_on_oops"}

// nodeState is what cleaning up a node needs, written before anything starts.
type nodeState struct {
	Dir        string            `json:"dir"`
	OwnerPID   int               `json:"ownerPID"`
	OwnerStart string            `json:"ownerStart"`
	Bridge     string            `json:"bridge"`
	CgroupRoot string            `json:"cgroupRoot"`
	Sysctls    map[string]string `json:"sysctls"`
	// ServiceIP is the `kubernetes` Service address, added to the loopback interface (apiproxy.go).
	ServiceIP string `json:"serviceIP"`
	// Created are host paths that did not exist before the node started (e.g. /var/log/containers).
	Created []string `json:"created"`
}

// hostPathsKubeletCreates are created by the kubelet or containerd outside the node's folder.
var hostPathsKubeletCreates = []string{"/var/log/containers", "/var/log/pods", "/var/lib/kubelet", "/run/containerd", "/etc/cni"}

func (s *nodeState) path() string { return filepath.Join(s.Dir, "state.json") }

func (s *nodeState) save() error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp := s.path() + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, s.path())
}

// processStart is a process's start time in clock ticks since boot (field 22 of /proc/PID/stat), "" if it is
// gone: a PID with another start time is another process.
func processStart(pid int) string {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	s := string(data)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		s = s[i+1:]
	}
	f := strings.Fields(s)
	if len(f) < 20 {
		return ""
	}
	return f[19]
}

// CleanupStaleNodes removes what real nodes of test binaries that no longer run left behind (every real-node
// start calls it first).
func CleanupStaleNodes(logf func(string, ...any)) error {
	dirs, err := filepath.Glob(nodeDirPattern)
	if err != nil {
		return err
	}
	var errs []error
	for _, dir := range dirs {
		data, err := os.ReadFile(filepath.Join(dir, "state.json"))
		if err != nil {
			continue // being created right now, or not ours
		}
		var st nodeState
		if err := json.Unmarshal(data, &st); err != nil || st.Dir != dir {
			continue
		}
		if start := processStart(st.OwnerPID); start != "" && start == st.OwnerStart {
			continue // its test binary still runs (another harness, or a dev cluster)
		}
		logf("real node: cleaning up %s, left by process %d that no longer runs", dir, st.OwnerPID)
		errs = append(errs, st.cleanup())
	}
	return errors.Join(errs...)
}

// cleanup kills every process of the node, unmounts, removes its cgroups, its bridge and its folder, and
// restores the sysctls. It does what it can and reports what it could not.
func (s *nodeState) cleanup() error {
	var errs []error
	killProcessesNaming(s.Dir)
	if s.CgroupRoot != "" {
		errs = append(errs, removeCgroups(s.CgroupRoot))
	}
	killProcessesNaming(s.Dir)
	errs = append(errs, unmountUnder(s.Dir))
	if s.Bridge != "" {
		if _, err := os.Stat(filepath.Join("/sys/class/net", s.Bridge)); err == nil {
			if out, err := exec.Command("ip", "link", "delete", s.Bridge).CombinedOutput(); err != nil {
				errs = append(errs, fmt.Errorf("error deleting bridge %s: %v: %s", s.Bridge, err, out))
			}
		}
	}
	if s.ServiceIP != "" {
		if out, err := exec.Command("ip", "addr", "show", "dev", "lo").Output(); err == nil && strings.Contains(string(out), " "+s.ServiceIP+"/32") {
			if out, err := exec.Command("ip", "addr", "del", s.ServiceIP+"/32", "dev", "lo").CombinedOutput(); err != nil {
				errs = append(errs, fmt.Errorf("error removing %s from lo: %v: %s", s.ServiceIP, err, out))
			}
		}
	}
	for key, val := range s.Sysctls {
		if err := os.WriteFile(filepath.Join("/proc/sys", key), []byte(val), 0o644); err != nil {
			errs = append(errs, fmt.Errorf("error restoring sysctl %s=%s: %w", key, val, err))
		}
	}
	removeDeadShimSockets()
	for _, p := range s.Created {
		_ = os.Remove(p) // only when empty: another node may be using it
	}
	if err := os.RemoveAll(s.Dir); err != nil {
		errs = append(errs, fmt.Errorf("error removing %s: %w", s.Dir, err))
	}
	return errors.Join(errs...)
}

// killProcessesNaming SIGKILLs every process whose command line names dir (containerd, its shims, which name
// its socket, the kubelet) and waits up to 5 s for them to go.
func killProcessesNaming(dir string) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		pids := processesNaming(dir)
		if len(pids) == 0 || time.Now().After(deadline) {
			return
		}
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func processesNaming(dir string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		if strings.Contains(string(cmdline), dir) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// cgroupHierarchies lists the mounted cgroup hierarchies (v1 controllers, and the unified one).
func cgroupHierarchies() []string {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	var dirs []string
	for _, line := range strings.Split(string(data), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		if !ok {
			continue
		}
		if fs := strings.Fields(post); len(fs) > 0 && (fs[0] == "cgroup" || fs[0] == "cgroup2") {
			if f := strings.Fields(pre); len(f) > 4 {
				dirs = append(dirs, f[4])
			}
		}
	}
	return dirs
}

// removeCgroups kills every process in the cgroups under root, in every hierarchy, and removes them, deepest
// first.
func removeCgroups(root string) error {
	var errs []error
	for _, h := range cgroupHierarchies() {
		top := filepath.Join(h, root)
		if _, err := os.Stat(top); err != nil {
			continue
		}
		var dirs []string
		_ = filepath.WalkDir(top, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
		for _, d := range dirs {
			var err error
			for try := 0; try < 50; try++ {
				if procs, _ := os.ReadFile(filepath.Join(d, "cgroup.procs")); len(procs) > 0 {
					for _, f := range strings.Fields(string(procs)) {
						if pid, _ := strconv.Atoi(f); pid > 0 {
							_ = syscall.Kill(pid, syscall.SIGKILL)
						}
					}
				}
				if err = syscall.Rmdir(d); err == nil || errors.Is(err, syscall.ENOENT) {
					err = nil
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("error removing cgroup %s: %w", d, err))
			}
		}
	}
	return errors.Join(errs...)
}

// unmountUnder detaches every mount at or below dir, deepest first.
func unmountUnder(dir string) error {
	var errs []error
	for try := 0; try < 3; try++ {
		mounts := mountsUnder(dir)
		if len(mounts) == 0 {
			return nil
		}
		errs = errs[:0]
		for _, m := range mounts {
			if err := syscall.Unmount(m, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOENT) {
				errs = append(errs, fmt.Errorf("error unmounting %s: %w", m, err))
			}
		}
	}
	return errors.Join(errs...)
}

// mountsUnder lists the mount points at or below dir, deepest first.
func mountsUnder(dir string) []string {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		mp := unescapeMount(f[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			out = append(out, mp)
		}
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// removeDeadShimSockets removes the sockets in /run/containerd/s (where containerd 1.6 puts its shims'
// sockets whatever its state folder) that no process listens on any more.
func removeDeadShimSockets() {
	const dir = "/run/containerd/s"
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	listening := map[string]bool{}
	if data, err := os.ReadFile("/proc/net/unix"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if f := strings.Fields(line); len(f) >= 8 {
				listening[strings.TrimPrefix(f[7], "@")] = true
			}
		}
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if !listening[p] {
			_ = os.Remove(p)
		}
	}
}

// readSysctls records the current values of the kubelet's sysctls.
func readSysctls() map[string]string {
	out := map[string]string{}
	for _, key := range kubeletSysctls {
		if v, err := os.ReadFile(filepath.Join("/proc/sys", key)); err == nil {
			out[key] = strings.TrimSpace(string(v))
		}
	}
	return out
}

// NodeLeftOver lists what of the node in dir is on the machine (its folder, processes naming it, mounts under
// it, its cgroups, and bridge if not empty).
func NodeLeftOver(dir, bridge string) []string {
	var out []string
	if _, err := os.Stat(dir); err == nil {
		out = append(out, "folder "+dir)
	}
	for _, pid := range processesNaming(dir) {
		cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		out = append(out, fmt.Sprintf("process %d: %s", pid, strings.ReplaceAll(string(cmd), "\x00", " ")))
	}
	for _, m := range mountsUnder(dir) {
		out = append(out, "mount "+m)
	}
	for _, h := range cgroupHierarchies() {
		if _, err := os.Stat(filepath.Join(h, filepath.Base(dir))); err == nil {
			out = append(out, "cgroup "+filepath.Join(h, filepath.Base(dir)))
		}
	}
	if bridge != "" {
		if _, err := os.Stat(filepath.Join("/sys/class/net", bridge)); err == nil {
			out = append(out, "bridge "+bridge)
		}
	}
	return out
}
