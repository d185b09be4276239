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

package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// fileStore is a Store on a local directory.
type fileStore struct {
	root string
}

var _ Store = (*fileStore)(nil)

// tmpPrefix marks in-flight temporary files; List skips them.
const tmpPrefix = ".mlpipe-tmp-"

func newFileStore(dir string) (*fileStore, error) {
	if dir == "" {
		return nil, errors.New("empty directory in file URI")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("error resolving %q: %w", dir, err)
	}
	return &fileStore{root: abs}, nil
}

// URI implements Store.
func (s *fileStore) URI(key string) string {
	if key == "" {
		return "file://" + filepath.ToSlash(s.root)
	}
	return "file://" + filepath.ToSlash(filepath.Join(s.root, filepath.FromSlash(key)))
}

func (s *fileStore) path(key string) (string, error) {
	k, err := cleanKey(key)
	if err != nil {
		return "", err
	}
	return filepath.Join(s.root, filepath.FromSlash(k)), nil
}

// Get implements Store.
func (s *fileStore) Get(_ context.Context, key string) ([]byte, error) {
	p, err := s.path(key)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", s.URI(key), ErrNotExist)
	}
	if err != nil {
		return nil, fmt.Errorf("error reading %s: %w", s.URI(key), err)
	}
	return data, nil
}

// Open implements Store.
func (s *fileStore) Open(_ context.Context, key string) (io.ReadCloser, error) {
	p, err := s.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", s.URI(key), ErrNotExist)
	}
	if err != nil {
		return nil, fmt.Errorf("error reading %s: %w", s.URI(key), err)
	}
	return f, nil
}

// PutFile implements Store: a hard link of path next to the key's file (a copy when path is on another file
// system), renamed into place.
func (s *fileStore) PutFile(_ context.Context, key, src string) error {
	p, err := s.path(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("error creating directory for %s: %w", p, err)
	}
	tmp := filepath.Join(filepath.Dir(p), fmt.Sprintf("%s%s-%d", tmpPrefix, filepath.Base(p), os.Getpid()))
	_ = os.Remove(tmp)
	if err := os.Link(src, tmp); err != nil {
		if err := copyFile(src, tmp); err != nil {
			_ = os.Remove(tmp)
			return fmt.Errorf("error writing %s: %w", s.URI(key), err)
		}
	}
	if err := os.Rename(tmp, p); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("error moving %s into place: %w", s.URI(key), err)
	}
	return nil
}

// copyFile copies src to a new, synced file dst.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// writeTemp writes data to a synced temporary file next to p and returns its name.
func writeTemp(p string, data []byte) (string, error) {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return "", fmt.Errorf("error creating directory for %s: %w", p, err)
	}
	f, err := os.CreateTemp(filepath.Dir(p), tmpPrefix+filepath.Base(p)+"-*")
	if err != nil {
		return "", fmt.Errorf("error creating temporary file for %s: %w", p, err)
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(tmp, 0o644)
	}
	if werr != nil {
		_ = os.Remove(tmp)
		return "", fmt.Errorf("error writing %s: %w", p, werr)
	}
	return tmp, nil
}

// Put implements Store: temp file + rename.
func (s *fileStore) Put(_ context.Context, key string, data []byte) error {
	p, err := s.path(key)
	if err != nil {
		return err
	}
	tmp, err := writeTemp(p, data)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, p); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("error moving %s into place: %w", s.URI(key), err)
	}
	return nil
}

// Create implements Store. The content is written to a temporary file first and then hard-linked to the final
// name: link(2), like open(2) with O_CREAT|O_EXCL, fails when the name exists, so exactly one of several
// concurrent creators wins, and a reader never sees partial content.
func (s *fileStore) Create(_ context.Context, key string, data []byte) error {
	p, err := s.path(key)
	if err != nil {
		return err
	}
	tmp, err := writeTemp(p, data)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, p); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s: %w", s.URI(key), ErrExist)
		}
		return fmt.Errorf("error creating %s: %w", s.URI(key), err)
	}
	return nil
}

// Delete implements Store.
func (s *fileStore) Delete(_ context.Context, key string) error {
	p, err := s.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("error deleting %s: %w", s.URI(key), err)
	}
	// Remove directories left empty, up to the root; a non-empty one stops the walk.
	for dir := filepath.Dir(p); dir != s.root && strings.HasPrefix(dir, s.root); dir = filepath.Dir(dir) {
		if os.Remove(dir) != nil {
			break
		}
	}
	return nil
}

// List implements Store.
func (s *fileStore) List(_ context.Context, prefix string) ([]string, error) {
	var keys []string
	err := filepath.WalkDir(s.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p == s.root {
				return fs.SkipAll
			}
			return err
		}
		if d.IsDir() || strings.HasPrefix(d.Name(), tmpPrefix) {
			return nil
		}
		rel, err := filepath.Rel(s.root, p)
		if err != nil {
			return err
		}
		if key := filepath.ToSlash(rel); strings.HasPrefix(key, prefix) {
			keys = append(keys, key)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("error listing %s: %w", s.URI(prefix), err)
	}
	sort.Strings(keys)
	return keys, nil
}
