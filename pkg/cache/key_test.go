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

package cache

import (
	"context"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

// pinned is a fixed component set and its key, computed outside this code with
//
//	printf 'mlpipe-cache-v2\ninput:data="d1"\nparam:epochs="40"\nprogram:train="mlpipe vcs.revision=abc steps-format=1"\ntask="sha256:t1"\n' | sha256sum
var pinned = map[string]string{
	"task":          "sha256:t1",
	"param:epochs":  "40",
	"input:data":    "d1",
	"program:train": "mlpipe vcs.revision=abc steps-format=1",
}

const pinnedKey = "60bb9202b148f4078e668687260b9899c6982528cde39bfa9db97ce0c33975f3"

func TestNewKeyPinned(t *testing.T) {
	if got := NewKey(pinned).Sum; got != pinnedKey {
		t.Errorf("NewKey(pinned) = %s, want %s", got, pinnedKey)
	}
}

// TestNewKeyOneComponentChanged: changing, adding or removing any one component changes the key.
func TestNewKeyOneComponentChanged(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(map[string]string)
	}{
		{"param value", func(c map[string]string) { c["param:epochs"] = "80" }},
		{"task digest", func(c map[string]string) { c["task"] = "sha256:t2" }},
		{"input digest", func(c map[string]string) { c["input:data"] = "d2" }},
		{"program", func(c map[string]string) { c["program:train"] = "binary sha256=ff steps-format=1" }},
		{"new component", func(c map[string]string) { c["param:seed"] = "42" }},
		{"removed component", func(c map[string]string) { delete(c, "input:data") }},
		{"value moved into the name", func(c map[string]string) { delete(c, "param:epochs"); c["param:epochs=\"40\""] = "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := map[string]string{}
			for k, v := range pinned {
				c[k] = v
			}
			tt.mutate(c)
			if got := NewKey(c).Sum; got == pinnedKey {
				t.Errorf("key unchanged after %s", tt.name)
			}
		})
	}
}

// TestTreeDigestPinned: the digest of a directory, computed outside this code (python3 hashlib) over the lines
// "<rel>\0<sha256>\n" of its files.
func TestTreeDigestPinned(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "x.csv"), "a,b\n1,2\n")
	write(t, filepath.Join(dir, "sub", "s.json"), "{}")
	d := NewDigester()
	sum, files, err := d.Tree(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := "d7b6711eef851637af5bce2436633485407fd779c9736ce8b7b00e8f3484697b"; sum != want {
		t.Errorf("Tree = %s, want %s", sum, want)
	}
	if want := "492d5ea496056f1a6a6592241032fab764c321596317930b4fa0e1e8bc3b7470"; files["x.csv"] != want {
		t.Errorf("files[x.csv] = %s, want %s", files["x.csv"], want)
	}
	if one, _, _ := d.Tree(filepath.Join(dir, "x.csv")); one != "492d5ea496056f1a6a6592241032fab764c321596317930b4fa0e1e8bc3b7470" {
		t.Errorf("Tree(file) = %s", one)
	}
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestKeyTokenizesWorkspaces: the same task with its workspace at a local run folder and at /workspace/...
// gives one key; its local input is digested by content, and a changed file changes the key.
func TestKeyTokenizesWorkspaces(t *testing.T) {
	local, pod := t.TempDir(), t.TempDir()
	for _, ws := range []string{local, pod} {
		write(t, filepath.Join(ws, "dataset", "train.csv"), "a,b\n1,2\n")
	}
	key := func(ws string) Key {
		t.Helper()
		k, _, err := NewDigester().Key(context.Background(), Inputs{
			Task:       "sha256:t1",
			Params:     map[string]string{"dataset-uri": ws + "/dataset", "epochs": "40", ParamSkip: "train", ParamEnabled: "false"},
			Workspaces: map[string]string{"artifacts": ws},
			Programs:   map[string]string{"train": "p"},
		})
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	a, b := key(local), key(pod)
	if a.Sum != b.Sum {
		t.Errorf("keys differ across workspace paths:\n%v\n%v", a.Components, b.Components)
	}
	want := map[string]string{
		"task": "sha256:t1", "program:train": "p", "param:epochs": "40",
		"param:dataset-uri": "$(workspaces.artifacts.path)/dataset",
		"input:dataset-uri": ListDigest(map[string]string{"train.csv": "492d5ea496056f1a6a6592241032fab764c321596317930b4fa0e1e8bc3b7470"}),
	}
	for k, v := range want {
		if a.Components[k] != v {
			t.Errorf("component %s = %q, want %q", k, a.Components[k], v)
		}
	}
	if len(a.Components) != len(want) {
		t.Errorf("components = %v, want exactly %v (the cache's own params are not components)", a.Components, want)
	}
	write(t, filepath.Join(pod, "dataset", "train.csv"), "a,b\n1,3\n")
	if key(pod).Sum == a.Sum {
		t.Error("a changed input file did not change the key")
	}
}

func TestBuildIdentity(t *testing.T) {
	bin := func() (string, error) { return "go-build-id:b1", nil }
	info := func(settings ...string) *debug.BuildInfo {
		bi := &debug.BuildInfo{}
		for i := 0; i+1 < len(settings); i += 2 {
			bi.Settings = append(bi.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
		}
		return bi
	}
	tests := []struct {
		name string
		info *debug.BuildInfo
		want string
	}{
		{"clean revision", info("vcs.revision", "abc", "vcs.modified", "false"), "mlpipe vcs.revision=abc steps-format=2"},
		{"modified tree", info("vcs.revision", "abc", "vcs.modified", "true"), "binary go-build-id:b1 vcs.revision=abc+modified steps-format=2"},
		{"no vcs", info(), "binary go-build-id:b1 steps-format=2"},
		{"no build info", nil, "binary go-build-id:b1 steps-format=2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := BuildIdentity(tt.info, bin); got != tt.want {
				t.Errorf("BuildIdentity = %q, want %q", got, tt.want)
			}
		})
	}
	if got := BuildIdentity(nil, func() (string, error) { return "", os.ErrNotExist }); got != "" {
		t.Errorf("BuildIdentity of an unreadable binary = %q, want \"\"", got)
	}
}

// TestBinaryID: a Go binary by its build ID note, any other file by its sha256 (computed with sha256sum).
func TestBinaryID(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if id, err := BinaryID(exe); err != nil || !strings.HasPrefix(id, "go-build-id:") || len(id) != len("go-build-id:")+64 {
		t.Errorf("BinaryID(test binary) = %q, %v; want go-build-id:<64 hex>", id, err)
	}
	script := filepath.Join(t.TempDir(), "step.sh")
	write(t, script, "a,b\n1,2\n")
	if id, err := BinaryID(script); err != nil || id != "sha256:492d5ea496056f1a6a6592241032fab764c321596317930b4fa0e1e8bc3b7470" {
		t.Errorf("BinaryID(script) = %q, %v", id, err)
	}
}
