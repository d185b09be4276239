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
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"os"
	"runtime/debug"
	"sync"
)

// StepsFormat is the version of the built-in steps' inputs and outputs: bump it when a step's output for the
// same inputs changes without a new commit being the only sign (it is part of every built-in step's identity).
const StepsFormat = "2" // 2: float32 features in the Arrow splits

var (
	selfOnce sync.Once
	selfID   string
)

// ProgramIdentity identifies the running binary as the program of the built-in steps (computed once).
func ProgramIdentity() string {
	selfOnce.Do(func() {
		info, _ := debug.ReadBuildInfo()
		selfID = BuildIdentity(info, func() (string, error) {
			exe, err := os.Executable()
			if err != nil {
				return "", err
			}
			return BinaryID(exe)
		})
	})
	return selfID
}

// BuildIdentity identifies a build of the built-in steps: "mlpipe vcs.revision=<rev> steps-format=<n>" for a
// build from a clean checkout (the local mlpipe binary and the image's mlpipe-step built from one commit share
// it); for a build from a modified tree or one without VCS information, "binary <id> steps-format=<n>" with
// the id binarySum returns (BinaryID), so that two different binaries never share entries — then a local key
// and a cluster key differ. "" when the binary cannot be read: such a program is not cached.
func BuildIdentity(info *debug.BuildInfo, binarySum func() (string, error)) string {
	var rev, modified string
	if info != nil {
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value
			}
		}
	}
	if rev != "" && modified != "true" {
		return "mlpipe vcs.revision=" + rev + " steps-format=" + StepsFormat
	}
	sum, err := binarySum()
	if err != nil {
		return "" // unknown: the caller runs uncached
	}
	if rev != "" {
		return "binary " + sum + " vcs.revision=" + rev + "+modified steps-format=" + StepsFormat
	}
	return "binary " + sum + " steps-format=" + StepsFormat
}

// BinaryID identifies the program file at path without reading all of it: "go-build-id:<sha256 of the Go
// build ID note>" for a Go ELF binary (the build ID ends in a hash of the binary's content, so it changes
// whenever the content does), else "sha256:<hex of the file>".
func BinaryID(path string) (string, error) {
	if f, err := elf.Open(path); err == nil {
		defer f.Close()
		if sec := f.Section(".note.go.buildid"); sec != nil {
			if data, err := sec.Data(); err == nil {
				sum := sha256.Sum256(data)
				return "go-build-id:" + hex.EncodeToString(sum[:]), nil
			}
		}
	}
	sum, err := NewDigester().File(path)
	if err != nil {
		return "", err
	}
	return "sha256:" + sum, nil
}
