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

package generate

import (
	"fmt"
	"os"
	"path/filepath"
)

// WriteDir writes files under dir. Each file is written to a temporary name and
// renamed into place only after every file was written, so a failure leaves the
// directory as it was (files already renamed are whole files).
func WriteDir(dir string, files []File) (err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("error creating output directory: %w", err)
	}
	staged := make([]string, 0, len(files))
	defer func() {
		if err != nil {
			for _, tmp := range staged {
				os.Remove(tmp)
			}
		}
	}()
	for _, f := range files {
		dst := filepath.Join(dir, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return fmt.Errorf("error creating output directory: %w", err)
		}
		tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp-")
		if err != nil {
			return fmt.Errorf("error writing %s: %w", dst, err)
		}
		staged = append(staged, tmp.Name())
		if _, err := tmp.Write(f.Data); err != nil {
			tmp.Close()
			return fmt.Errorf("error writing %s: %w", dst, err)
		}
		if err := tmp.Close(); err != nil {
			return fmt.Errorf("error writing %s: %w", dst, err)
		}
	}
	for i, f := range files {
		dst := filepath.Join(dir, filepath.FromSlash(f.Name))
		if err := os.Chmod(staged[i], 0o644); err != nil {
			return fmt.Errorf("error writing %s: %w", dst, err)
		}
		if err := os.Rename(staged[i], dst); err != nil {
			return fmt.Errorf("error writing %s: %w", dst, err)
		}
	}
	return nil
}
