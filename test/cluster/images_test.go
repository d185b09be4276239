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
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// fakeImageInputs writes small stand-ins for the binaries: each holds its own name, and the busybox is a script
// that answers --list.
func fakeImageInputs(t *testing.T) ImageInputs {
	t.Helper()
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
		return path
	}
	in := ImageInputs{
		TektonBins:    map[string]string{},
		TektonVersion: "v1.15.1",
		StepBinary:    write("mlpipe-step", "fake mlpipe-step\n"),
		Busybox:       write("busybox", "#!/bin/sh\nprintf 'busybox\\nsh\\necho\\n[\\n'\n"),
		PauseBinary:   write("pause", "fake pause\n"),
	}
	for _, n := range tektonImages {
		in.TektonBins[n] = write(n, "fake "+n+"\n")
	}
	return in
}

// layerFile is what a test checks of one file of a layer.
type layerFile struct {
	Type     byte
	Mode     int64
	Uid, Gid int
	Link     string
	Content  string
}

// readImage loads an image from its tarball and returns its config and its one layer's files, by path.
func readImage(t *testing.T, img Image) (*v1.ConfigFile, map[string]layerFile) {
	t.Helper()
	tag, err := name.NewTag(img.Ref)
	if err != nil {
		t.Fatal(err)
	}
	image, err := tarball.ImageFromPath(img.Tarball, &tag)
	if err != nil {
		t.Fatalf("reading %s from %s: %v", img.Ref, img.Tarball, err)
	}
	cfg, err := image.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	layers, err := image.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 1 {
		t.Fatalf("%s has %d layers, want 1", img.Ref, len(layers))
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	files := map[string]layerFile{}
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !hdr.ModTime.Equal(time.Unix(0, 0)) {
			t.Errorf("%s: %s has mtime %v, want the epoch", img.Ref, hdr.Name, hdr.ModTime)
		}
		content, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[hdr.Name] = layerFile{hdr.Typeflag, hdr.Mode, hdr.Uid, hdr.Gid, hdr.Linkname, string(content)}
	}
	return cfg, files
}

func TestBuildImages(t *testing.T) {
	in := fakeImageInputs(t)
	set, err := BuildImages(in, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	stepTag, err := StepTag(in.StepBinary)
	if err != nil {
		t.Fatal(err)
	}
	bin := func(content string) layerFile { return layerFile{Type: tar.TypeReg, Mode: 0o755, Content: content} }
	dir := func(mode int64, uid int) layerFile {
		return layerFile{Type: tar.TypeDir, Mode: mode, Uid: uid, Gid: uid}
	}
	busybox := layerFile{Type: tar.TypeSymlink, Mode: 0o777, Link: "/bin/busybox"}
	koFiles := func(name string) map[string]layerFile {
		return map[string]layerFile{
			"ko-app/" + name: bin("fake " + name + "\n"),
			"tmp/":           dir(0o1777, 0),
			"home/nonroot/":  dir(0o700, 65532),
		}
	}
	tests := []struct {
		name       string
		img        Image
		wantRef    string
		wantConfig v1.Config
		wantFiles  map[string]layerFile
	}{{
		name:       "step",
		img:        set.Step,
		wantRef:    "ko.local/mlpipe-step:" + stepTag,
		wantConfig: v1.Config{Entrypoint: []string{"/ko-app/mlpipe-step"}, User: "65532", Env: []string{"PATH=/ko-app:/usr/local/bin:/usr/bin:/bin"}},
		wantFiles:  koFiles("mlpipe-step"),
	}, {
		name:       "entrypoint",
		img:        set.Entrypoint,
		wantRef:    "ko.local/tektoncd/tekton-entrypoint:v1.15.1",
		wantConfig: v1.Config{Entrypoint: []string{"/ko-app/entrypoint"}, User: "65532", Env: []string{"PATH=/ko-app:/usr/local/bin:/usr/bin:/bin"}},
		wantFiles:  koFiles("entrypoint"),
	}, {
		name:       "nop",
		img:        set.Nop,
		wantRef:    "ko.local/tektoncd/tekton-nop:v1.15.1",
		wantConfig: v1.Config{Entrypoint: []string{"/ko-app/nop"}, User: "65532", Env: []string{"PATH=/ko-app:/usr/local/bin:/usr/bin:/bin"}},
		wantFiles:  koFiles("nop"),
	}, {
		name:       "workingdirinit",
		img:        set.WorkingDirInit,
		wantRef:    "ko.local/tektoncd/tekton-workingdirinit:v1.15.1",
		wantConfig: v1.Config{Entrypoint: []string{"/ko-app/workingdirinit"}, User: "65532", Env: []string{"PATH=/ko-app:/usr/local/bin:/usr/bin:/bin"}},
		wantFiles:  koFiles("workingdirinit"),
	}, {
		name:       "sidecarlogresults",
		img:        set.SidecarLogResults,
		wantRef:    "ko.local/tektoncd/tekton-sidecarlogresults:v1.15.1",
		wantConfig: v1.Config{Entrypoint: []string{"/ko-app/sidecarlogresults"}, User: "65532", Env: []string{"PATH=/ko-app:/usr/local/bin:/usr/bin:/bin"}},
		wantFiles:  koFiles("sidecarlogresults"),
	}, {
		name:       "shell",
		img:        set.Shell,
		wantRef:    "ko.local/busybox:static",
		wantConfig: v1.Config{Entrypoint: []string{"/bin/sh"}, User: "65532", Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}},
		wantFiles: map[string]layerFile{
			"bin/busybox": bin("#!/bin/sh\nprintf 'busybox\\nsh\\necho\\n[\\n'\n"),
			"bin/sh":      busybox,
			"bin/echo":    busybox,
			"bin/[":       busybox,
			"usr/bin/env": busybox,
			"tmp/":        dir(0o1777, 0),
		},
	}, {
		name:       "pause",
		img:        set.Pause,
		wantRef:    "ko.local/pause:mlpipe",
		wantConfig: v1.Config{Entrypoint: []string{"/pause"}, User: "65535:65535", Env: []string{"PATH=/ko-app:/usr/local/bin:/usr/bin:/bin"}},
		wantFiles:  map[string]layerFile{"pause": bin("fake pause\n")},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.img.Ref != tt.wantRef {
				t.Errorf("Ref = %q, want %q", tt.img.Ref, tt.wantRef)
			}
			cfg, files := readImage(t, tt.img)
			if cfg.OS != "linux" || cfg.Architecture != runtime.GOARCH {
				t.Errorf("platform %s/%s, want linux/%s", cfg.OS, cfg.Architecture, runtime.GOARCH)
			}
			if diff := cmp.Diff(tt.wantConfig, cfg.Config); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
			for path, want := range tt.wantFiles {
				if diff := cmp.Diff(want, files[path]); diff != "" {
					t.Errorf("%s in the layer (-want +got):\n%s", path, diff)
				}
			}
		})
	}
	if got := set.Sizes(); len(got) != len(set.All()) {
		t.Errorf("Sizes() = %v, want one size per image", got)
	}
}

func TestBuildImagesKoBase(t *testing.T) {
	set, err := BuildImages(fakeImageInputs(t), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	_, files := readImage(t, set.Step)
	if !strings.Contains(files["etc/passwd"].Content, "nonroot:x:65532:65532:nonroot:/home/nonroot:") {
		t.Errorf("/etc/passwd has no nonroot user:\n%s", files["etc/passwd"].Content)
	}
	if !strings.Contains(files["etc/group"].Content, "nonroot:x:65532:") {
		t.Errorf("/etc/group has no nonroot group:\n%s", files["etc/group"].Content)
	}
	host, err := os.ReadFile(hostCABundle)
	if err != nil {
		t.Skipf("no CA bundle on this machine: %v", err)
	}
	if files["etc/ssl/certs/ca-certificates.crt"].Content != string(host) {
		t.Errorf("the image's CA bundle differs from %s", hostCABundle)
	}
}

func TestBuildImagesReproducible(t *testing.T) {
	in := fakeImageInputs(t)
	first, err := BuildImages(in, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	second, err := BuildImages(in, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in.StepBinary, []byte("rebuilt mlpipe-step\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	rebuilt, err := BuildImages(in, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for i, img := range first.All() {
		if got := second.All()[i]; got.Ref != img.Ref || digest(t, got) != digest(t, img) {
			t.Errorf("two builds of %s differ: %s@%s, %s@%s", img.Ref, img.Ref, digest(t, img), got.Ref, digest(t, got))
		}
		a, err := os.ReadFile(img.Tarball)
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(second.All()[i].Tarball)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("two builds of %s wrote different tarballs", img.Ref)
		}
	}
	if rebuilt.Step.Ref == first.Step.Ref {
		t.Errorf("a rebuilt step binary keeps the tag %s", first.Step.Ref)
	}
	if digest(t, rebuilt.Entrypoint) != digest(t, first.Entrypoint) {
		t.Errorf("a rebuilt step binary changed the entrypoint image")
	}
}

func digest(t *testing.T, img Image) string {
	t.Helper()
	tag, err := name.NewTag(img.Ref)
	if err != nil {
		t.Fatal(err)
	}
	image, err := tarball.ImageFromPath(img.Tarball, &tag)
	if err != nil {
		t.Fatal(err)
	}
	d, err := image.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

func TestBuildImagesFailures(t *testing.T) {
	tests := []struct {
		name string
		in   func(ImageInputs) ImageInputs
		want []string
	}{{
		name: "nothing",
		in:   func(ImageInputs) ImageInputs { return ImageInputs{} },
		want: []string{`TektonBins["entrypoint"]`, `TektonBins["sidecarlogresults"]`, "TektonVersion", "StepBinary", "Busybox", "PauseBinary"},
	}, {
		name: "no nop",
		in: func(in ImageInputs) ImageInputs {
			delete(in.TektonBins, "nop")
			return in
		},
		want: []string{`TektonBins["nop"]`},
	}, {
		name: "absent binary",
		in: func(in ImageInputs) ImageInputs {
			in.PauseBinary = filepath.Join(t.TempDir(), "absent")
			return in
		},
		want: []string{"ko.local/pause:mlpipe", "absent"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := BuildImages(tt.in(fakeImageInputs(t)), t.TempDir())
			if err == nil {
				t.Fatal("BuildImages succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %s", err, w)
				}
			}
		})
	}
}

// repoRoot is the checkout this package is in.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func TestBuildPauseBinary(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the pause binary is built for linux")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pause, err := BuildPauseBinary(ctx, repoRoot(t), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(pause)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
	})
	// The first line says the handler is installed; the rest is drained so that the process never blocks on it.
	lines := bufio.NewReader(stderr)
	if _, err := lines.ReadString('\n'); err != nil {
		t.Fatalf("reading pause's first line: %v", err)
	}
	go func() {
		io.Copy(io.Discard, lines)
		done <- cmd.Wait()
	}()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		done <- err
		if err != nil {
			t.Errorf("pause exited with %v after SIGTERM, want exit status 0", err)
		}
	case <-time.After(time.Second):
		t.Errorf("pause still runs a second after SIGTERM")
	}
}

// startContainerd runs a throwaway containerd (CRI disabled) in dir and returns its socket; the test's cleanup stops
// it by PID and checks that it left no mount in dir.
func startContainerd(t *testing.T, dir string) string {
	t.Helper()
	socket := filepath.Join(dir, "containerd.sock")
	config := fmt.Sprintf(`version = 2
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = %[1]q
[ttrpc]
  address = %[2]q
[plugins."io.containerd.internal.v1.opt"]
  path = %[3]q
`, socket, socket+".ttrpc", filepath.Join(dir, "opt"))
	configPath := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(configPath, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := startProcess("/usr/bin/containerd", []string{"--config", configPath, "--root", filepath.Join(dir, "root"),
		"--state", filepath.Join(dir, "state"), "--address", socket}, os.Environ(), filepath.Join(dir, "containerd.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.stop(10 * time.Second); err != nil {
			t.Errorf("stopping containerd: %v", err)
		}
		mounts, err := os.ReadFile("/proc/self/mountinfo")
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(mounts), "\n") {
			if fields := strings.Fields(line); len(fields) > 4 && strings.HasPrefix(fields[4], dir) {
				t.Errorf("containerd left a mount: %s", line)
			}
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		out, err := exec.Command("/usr/bin/ctr", "--address", socket, "version").CombinedOutput()
		if err == nil {
			return socket
		}
		select {
		case <-p.done:
			t.Fatalf("containerd exited: %v\n%s", p.err, tailFile(p.logPath, 20))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("containerd not serving after 20 s: %s\n%s", out, tailFile(p.logPath, 20))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestImportImages(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("importing into a throwaway containerd needs root")
	}
	for _, bin := range []string{"/usr/bin/containerd", "/usr/bin/ctr"} {
		if _, err := os.Stat(bin); err != nil {
			t.Skipf("no containerd here (%v); hack/install-node-packages.sh installs it", err)
		}
	}
	dir, err := os.MkdirTemp("", "mlpipe-ctrd-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	socket := startContainerd(t, dir)
	set, err := BuildImages(fakeImageInputs(t), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := ImportImages(ctx, "/usr/bin/ctr", socket, set); err != nil {
		t.Fatal(err)
	}
	// Unpacked: the CRI runs containers from snapshots, and each image has a layer of its own.
	out, err := exec.Command("/usr/bin/ctr", "--address", socket, "-n", "k8s.io", "snapshots", "list").CombinedOutput()
	if err != nil {
		t.Fatalf("listing snapshots: %v\n%s", err, out)
	}
	if got := strings.Count(string(out), "Committed"); got != len(set.All()) {
		t.Errorf("%d committed snapshots, want %d (one per image):\n%s", got, len(set.All()), out)
	}

	broken := set
	broken.Nop = Image{Ref: "ko.local/broken:x", Tarball: filepath.Join(t.TempDir(), "broken.tar")}
	if err := os.WriteFile(broken.Nop.Tarball, []byte("not a tarball"), 0o644); err != nil {
		t.Fatal(err)
	}
	err = ImportImages(ctx, "/usr/bin/ctr", socket, broken)
	if err == nil || !strings.Contains(err.Error(), "ko.local/broken:x") {
		t.Errorf("importing a broken tarball: error %v, want one naming ko.local/broken:x", err)
	}
}
