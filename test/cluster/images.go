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
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// The references of the local images. Nothing is ever pulled: Pods name these and find them in containerd's
// k8s.io namespace, where ImportImages puts them, so they need imagePullPolicy Never or IfNotPresent.
const (
	// PauseRef is the sandbox image; containerd's sandbox_image must name it.
	PauseRef = "ko.local/pause:mlpipe"
	// ShellRef is the image of Tekton's script steps (the controller's -shell-image).
	ShellRef = "ko.local/busybox:static"
	// TektonRepo prefixes Tekton's images, as `KO_DOCKER_REPO=ko.local ko resolve` of tektoncd/pipeline names
	// them: TektonRepo + "tekton-entrypoint:" + version.
	TektonRepo = "ko.local/tektoncd/"
	// StepRepo is the repository of the mlpipe-step image; its tag is StepTag of the binary.
	StepRepo = "ko.local/mlpipe-step"
)

// The users the images run as.
const (
	nonrootUID = 65532
	pauseUser  = "65535:65535"
)

const (
	// koPath is the PATH of the ko-built images (Tekton's and mlpipe-step).
	koPath = "PATH=/ko-app:/usr/local/bin:/usr/bin:/bin"
	// shellPath is the PATH of the shell image.
	shellPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	// hostCABundle is copied into the ko-built images at the same path, as ko's static base carries one.
	hostCABundle = "/etc/ssl/certs/ca-certificates.crt"
)

// tektonImages are the keys of ImageInputs.TektonBins, which are also the names of the binaries in /ko-app.
var tektonImages = []string{"entrypoint", "nop", "workingdirinit", "sidecarlogresults"}

// shellApplets are the busybox applets linked in /bin when `busybox --list` cannot be run.
var shellApplets = []string{
	"[", "cat", "chmod", "cp", "date", "echo", "env", "false", "grep", "head", "id", "ls", "mkdir", "mv",
	"printf", "rm", "sed", "sh", "sleep", "tail", "tee", "test", "touch", "true", "wc",
}

// Image is one local image: its reference as Pods name it, and the tarball it was written to.
type Image struct {
	// Ref is the image's reference, e.g. "ko.local/busybox:static".
	Ref string
	// Tarball is the docker-archive (`docker save` format) file that holds the image.
	Tarball string
}

// ImageSet names the images the node needs.
type ImageSet struct {
	// Pause is the sandbox image.
	Pause Image
	// Entrypoint, Nop, WorkingDirInit and SidecarLogResults are Tekton's images (the controller's -entrypoint-image,
	// -nop-image, -workingdirinit-image and -sidecarlogresults-image).
	Entrypoint, Nop, WorkingDirInit, SidecarLogResults Image
	// Shell is the busybox image of script steps (the controller's -shell-image).
	Shell Image
	// Step is the mlpipe-step image the generated Tasks run.
	Step Image
}

// All returns every image of the set, for loops.
func (s ImageSet) All() []Image {
	return []Image{s.Pause, s.Entrypoint, s.Nop, s.WorkingDirInit, s.SidecarLogResults, s.Shell, s.Step}
}

// Sizes returns the size in bytes of each image's tarball (its layers are gzip-compressed), by reference. An image
// whose tarball cannot be read is left out.
func (s ImageSet) Sizes() map[string]int64 {
	sizes := map[string]int64{}
	for _, img := range s.All() {
		if fi, err := os.Stat(img.Tarball); err == nil {
			sizes[img.Ref] = fi.Size()
		}
	}
	return sizes
}

// ImageInputs are the binaries the images are made of.
type ImageInputs struct {
	// TektonBins maps "entrypoint", "nop", "workingdirinit", "sidecarlogresults" to the static binaries built by
	// hack/build-tools.sh (tools tekton-entrypoint etc.).
	TektonBins map[string]string
	// TektonVersion tags Tekton's images, e.g. "v1.15.1" (the version the binaries were built from).
	TektonVersion string
	// StepBinary is a static build of ./cmd/mlpipe-step from this checkout (BuildStepBinary makes it).
	StepBinary string
	// Busybox is a static busybox (Debian busybox-static: /bin/busybox).
	Busybox string
	// PauseBinary is a static binary that blocks until SIGTERM/SIGINT (BuildPauseBinary makes it).
	PauseBinary string
}

// validate reports every missing input.
func (in ImageInputs) validate() error {
	var errs []error
	for _, n := range tektonImages {
		if in.TektonBins[n] == "" {
			errs = append(errs, fmt.Errorf("no binary for Tekton's %s image (TektonBins[%q])", n, n))
		}
	}
	if in.TektonVersion == "" {
		errs = append(errs, errors.New("no TektonVersion"))
	}
	if in.StepBinary == "" {
		errs = append(errs, errors.New("no StepBinary"))
	}
	if in.Busybox == "" {
		errs = append(errs, errors.New("no Busybox"))
	}
	if in.PauseBinary == "" {
		errs = append(errs, errors.New("no PauseBinary"))
	}
	return errors.Join(errs...)
}

// BuildStepBinary builds ./cmd/mlpipe-step of the checkout at repoRoot as a static linux binary (CGO_ENABLED=0,
// -trimpath, -ldflags "-s -w") into dir and returns its path.
func BuildStepBinary(ctx context.Context, repoRoot, dir string) (string, error) {
	return buildStatic(ctx, repoRoot, "./cmd/mlpipe-step", filepath.Join(dir, "mlpipe-step"))
}

// BuildPauseBinary builds test/cluster/cmd/pause of the checkout at repoRoot as a static linux binary into dir and
// returns its path.
func BuildPauseBinary(ctx context.Context, repoRoot, dir string) (string, error) {
	return buildStatic(ctx, repoRoot, "./test/cluster/cmd/pause", filepath.Join(dir, "pause"))
}

// buildStatic runs `go build` for pkg in repoRoot with the flags ko uses, for linux on this machine's architecture.
func buildStatic(ctx context.Context, repoRoot, pkg, out string) (string, error) {
	out, err := filepath.Abs(out)
	if err != nil {
		return "", fmt.Errorf("error resolving %s: %w", out, err)
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", out, pkg)
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if output, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("error building %s: %w\n%s", pkg, err, output)
	}
	return out, nil
}

// StepTag returns the tag of the mlpipe-step image made of binary: the first 12 hex digits of its sha256, so that a
// rebuilt binary is a new tag and the node never runs a stale image under an old name.
func StepTag(binary string) (string, error) {
	f, err := os.Open(binary)
	if err != nil {
		return "", fmt.Errorf("error opening %s: %w", binary, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("error reading %s: %w", binary, err)
	}
	return hex.EncodeToString(h.Sum(nil))[:12], nil
}

// BuildImages writes one docker-archive tarball per image into dir and returns the set. The images are
// reproducible: the same inputs give the same image digests.
func BuildImages(in ImageInputs, dir string) (ImageSet, error) {
	if err := in.validate(); err != nil {
		return ImageSet{}, fmt.Errorf("error building images: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return ImageSet{}, fmt.Errorf("error creating %s: %w", dir, err)
	}
	stepTag, err := StepTag(in.StepBinary)
	if err != nil {
		return ImageSet{}, err
	}
	tekton := func(n string) imageSpec {
		return koImage(TektonRepo+"tekton-"+n+":"+in.TektonVersion, n, in.TektonBins[n])
	}
	var set ImageSet
	for _, b := range []struct {
		img  *Image
		spec imageSpec
	}{
		{&set.Pause, pauseImage(in.PauseBinary)},
		{&set.Entrypoint, tekton("entrypoint")},
		{&set.Nop, tekton("nop")},
		{&set.WorkingDirInit, tekton("workingdirinit")},
		{&set.SidecarLogResults, tekton("sidecarlogresults")},
		{&set.Shell, shellImage(in.Busybox)},
		{&set.Step, koImage(StepRepo+":"+stepTag, "mlpipe-step", in.StepBinary)},
	} {
		if *b.img, err = b.spec.write(dir); err != nil {
			return ImageSet{}, err
		}
	}
	return set, nil
}

// ImportImages imports the tarballs into containerd's k8s.io namespace (the CRI's), unpacked for the default
// snapshotter, with `ctr --address socket -n k8s.io images import`, and then checks that containerd lists every
// reference. It fails naming the image and ctr's output.
func ImportImages(ctx context.Context, ctrPath, socket string, set ImageSet) error {
	ctr := func(args ...string) ([]byte, error) {
		args = append([]string{"--address", socket, "--namespace", "k8s.io"}, args...)
		return exec.CommandContext(ctx, ctrPath, args...).CombinedOutput()
	}
	for _, img := range set.All() {
		if out, err := ctr("images", "import", "--no-unpack=false", img.Tarball); err != nil {
			return fmt.Errorf("error importing image %s from %s: %w\n%s", img.Ref, img.Tarball, err, out)
		}
	}
	out, err := ctr("images", "list", "--quiet")
	if err != nil {
		return fmt.Errorf("error listing containerd's images: %w\n%s", err, out)
	}
	listed := map[string]bool{}
	for _, ref := range strings.Fields(string(out)) {
		listed[ref] = true
	}
	var missing []string
	for _, img := range set.All() {
		if !listed[img.Ref] {
			missing = append(missing, img.Ref)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("containerd does not list the imported images %s; it lists:\n%s", strings.Join(missing, ", "), out)
	}
	return nil
}

// imageSpec describes one image: its files (one layer) and its config.
type imageSpec struct {
	ref string
	// file is the tarball's name in the output directory.
	file    string
	entries []entry
	config  v1.Config
}

// entry is one file of a layer. Paths have no leading slash.
type entry struct {
	path     string
	typ      byte
	mode     int64
	uid, gid int
	// link is a symlink's target.
	link string
	// data is a small file's content; src names a host file to copy instead.
	data []byte
	src  string
}

// dirEntry, fileEntry, copyEntry and linkEntry make the entries of a directory, a small file, a copy of a host file
// and a symlink.
func dirEntry(path string, mode int64, uid int) entry {
	return entry{path: path, typ: tar.TypeDir, mode: mode, uid: uid, gid: uid}
}

func fileEntry(path string, mode int64, data string) entry {
	return entry{path: path, typ: tar.TypeReg, mode: mode, data: []byte(data)}
}

func copyEntry(path string, mode int64, src string) entry {
	return entry{path: path, typ: tar.TypeReg, mode: mode, src: src}
}

func linkEntry(path, target string) entry {
	return entry{path: path, typ: tar.TypeSymlink, mode: 0o777, link: target}
}

// pauseImage is the sandbox image: the pause binary alone.
func pauseImage(binary string) imageSpec {
	return imageSpec{
		ref:     PauseRef,
		file:    "pause.tar",
		entries: []entry{copyEntry("pause", 0o755, binary)},
		config:  v1.Config{Entrypoint: []string{"/pause"}, User: pauseUser, Env: []string{koPath}},
	}
}

// koImage is what `ko build` makes of a Go binary on ko's default static base (distroless/static's layout: users
// root, nobody and nonroot, /tmp, CA certificates): the binary at /ko-app/<name>, run as nonroot. Tekton's
// controller relies on the /ko-app/<name> paths (it copies /ko-app/entrypoint out of the entrypoint image).
func koImage(ref, name, binary string) imageSpec {
	entries := append(staticBase(), dirEntry("ko-app", 0o755, 0), copyEntry("ko-app/"+name, 0o755, binary))
	return imageSpec{
		ref:     ref,
		file:    strings.NewReplacer("/", "_", ":", "_").Replace(strings.TrimPrefix(ref, "ko.local/")) + ".tar",
		entries: entries,
		config: v1.Config{
			Entrypoint: []string{"/ko-app/" + name},
			User:       fmt.Sprint(nonrootUID),
			Env:        []string{koPath},
		},
	}
}

// staticBase is the file system of distroless/static, ko's default base, without its time zone data.
func staticBase() []entry {
	entries := []entry{
		dirEntry("etc", 0o755, 0),
		fileEntry("etc/passwd", 0o644, "root:x:0:0:root:/root:/sbin/nologin\n"+
			"nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"+
			"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"),
		fileEntry("etc/group", 0o644, "root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n"),
		fileEntry("etc/nsswitch.conf", 0o644, "hosts: files dns\n"),
		dirEntry("home", 0o755, 0),
		dirEntry("home/nonroot", 0o700, nonrootUID),
		dirEntry("root", 0o700, 0),
		dirEntry("tmp", 0o1777, 0),
	}
	if _, err := os.Stat(hostCABundle); err == nil {
		entries = append(entries, dirEntry("etc/ssl", 0o755, 0), dirEntry("etc/ssl/certs", 0o755, 0),
			copyEntry(strings.TrimPrefix(hostCABundle, "/"), 0o644, hostCABundle))
	}
	return entries
}

// shellImage is busybox with a symlink in /bin for each applet (and /usr/bin/env, for `#!/usr/bin/env` scripts),
// the users root and nonroot, and /tmp. It runs as nonroot unless a securityContext says otherwise.
func shellImage(busybox string) imageSpec {
	entries := []entry{
		dirEntry("bin", 0o755, 0),
		copyEntry("bin/busybox", 0o755, busybox),
		dirEntry("etc", 0o755, 0),
		fileEntry("etc/passwd", 0o644, "root:x:0:0:root:/root:/bin/sh\n"+
			"nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"+
			"nonroot:x:65532:65532:nonroot:/home/nonroot:/bin/sh\n"),
		fileEntry("etc/group", 0o644, "root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n"),
		dirEntry("home", 0o755, 0),
		dirEntry("home/nonroot", 0o755, nonrootUID),
		dirEntry("root", 0o700, 0),
		dirEntry("tmp", 0o1777, 0),
		dirEntry("usr", 0o755, 0),
		dirEntry("usr/bin", 0o755, 0),
		linkEntry("usr/bin/env", "/bin/busybox"),
	}
	for _, applet := range busyboxApplets(busybox) {
		entries = append(entries, linkEntry("bin/"+applet, "/bin/busybox"))
	}
	return imageSpec{
		ref:     ShellRef,
		file:    "busybox.tar",
		entries: entries,
		// Non-root by default, as Tekton's own default shell image: with set-security-context Tekton's
		// place-scripts init container runs with runAsNonRoot but no runAsUser, so the image must name the user.
		config: v1.Config{Entrypoint: []string{"/bin/sh"}, User: fmt.Sprint(nonrootUID), Env: []string{shellPath}},
	}
}

// busyboxApplets returns the applets `busybox --list` prints, sorted, or shellApplets if it cannot be run.
func busyboxApplets(busybox string) []string {
	out, err := exec.Command(busybox, "--list").Output()
	if err != nil {
		return shellApplets
	}
	var applets []string
	for _, a := range strings.Fields(string(out)) {
		if a != "busybox" && !strings.Contains(a, "/") {
			applets = append(applets, a)
		}
	}
	if len(applets) == 0 {
		return shellApplets
	}
	sort.Strings(applets)
	return applets
}

// write builds the image and writes it to dir as a docker archive, through a temporary file so that a tarball
// is either whole or absent.
func (s imageSpec) write(dir string) (Image, error) {
	img, err := s.image()
	if err != nil {
		return Image{}, fmt.Errorf("error building image %s: %w", s.ref, err)
	}
	tag, err := name.NewTag(s.ref)
	if err != nil {
		return Image{}, fmt.Errorf("error parsing image reference %s: %w", s.ref, err)
	}
	path := filepath.Join(dir, s.file)
	tmp := path + ".tmp"
	if err := tarball.WriteToFile(tmp, tag, img); err != nil {
		os.Remove(tmp)
		return Image{}, fmt.Errorf("error writing image %s to %s: %w", s.ref, tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return Image{}, fmt.Errorf("error renaming %s: %w", tmp, err)
	}
	return Image{Ref: s.ref, Tarball: path}, nil
}

// image assembles the image: one layer on empty.Image, and a config for linux on this machine's architecture.
func (s imageSpec) image() (v1.Image, error) {
	layerTar, err := tarEntries(s.entries)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithCompressedCaching)
	if err != nil {
		return nil, fmt.Errorf("error making layer: %w", err)
	}
	img, err := mutate.ConfigFile(empty.Image, &v1.ConfigFile{
		Architecture: runtime.GOARCH,
		OS:           "linux",
		Config:       s.config,
		RootFS:       v1.RootFS{Type: "layers"},
	})
	if err != nil {
		return nil, fmt.Errorf("error setting config: %w", err)
	}
	return mutate.AppendLayers(img, layer)
}

// tarEntries writes the entries as a tar stream with fixed times and owners, so the layer's digest depends only on
// the files' contents.
func tarEntries(entries []entry) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		data := e.data
		if e.src != "" {
			var err error
			if data, err = os.ReadFile(e.src); err != nil {
				return nil, fmt.Errorf("error reading %s: %w", e.src, err)
			}
		}
		hdr := &tar.Header{
			Typeflag: e.typ,
			Name:     e.path,
			Linkname: e.link,
			Mode:     e.mode,
			Uid:      e.uid,
			Gid:      e.gid,
			ModTime:  time.Unix(0, 0),
		}
		switch e.typ {
		case tar.TypeDir:
			hdr.Name += "/"
		case tar.TypeReg:
			hdr.Size = int64(len(data))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("error writing %s to a layer: %w", e.path, err)
		}
		if _, err := tw.Write(data); err != nil {
			return nil, fmt.Errorf("error writing %s to a layer: %w", e.path, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("error closing a layer: %w", err)
	}
	return buf.Bytes(), nil
}
