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

// Package store reads and writes artifacts under file:// and s3:// URIs.
//
// A Store is rooted at a URI (a directory or an S3 bucket/prefix) and addresses objects by slash-separated keys
// below it. Every write is atomic: on file:// content goes to a temporary file that is renamed (or hard-linked, for
// exclusive creation) into place; on s3:// the object is uploaded in a single PutObject once its content is
// complete. Create never overwrites: it fails with ErrExist when the key is already taken, which is what numbered
// model versions rely on.
package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// ErrNotExist is returned (wrapped) when a key does not exist.
var ErrNotExist = errors.New("object does not exist")

// ErrExist is returned (wrapped) by Create when the key already exists.
var ErrExist = errors.New("object already exists")

// Store is an artifact store rooted at one URI.
type Store interface {
	// URI returns the URI of key below the store's root ("" is the root itself).
	URI(key string) string
	// Get returns the content of key, or an error wrapping ErrNotExist.
	Get(ctx context.Context, key string) ([]byte, error)
	// Open returns a stream of the content of key, or an error wrapping ErrNotExist; the caller closes it.
	Open(ctx context.Context, key string) (io.ReadCloser, error)
	// Put atomically writes key, replacing any previous content.
	Put(ctx context.Context, key string, data []byte) error
	// PutFile atomically writes key from the local file at path (which it leaves in place), replacing any
	// previous content: for content too large to hold in memory.
	PutFile(ctx context.Context, key, path string) error
	// Create atomically writes key only if it does not exist yet; otherwise it returns an error wrapping ErrExist.
	Create(ctx context.Context, key string, data []byte) error
	// Delete removes key; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// List returns the keys (relative to the root) of the objects whose key starts with prefix, sorted.
	List(ctx context.Context, prefix string) ([]string, error)
}

// Open returns the Store rooted at uri: "s3://bucket/prefix", "file:///abs/dir" or a plain path.
func Open(ctx context.Context, uri string) (Store, error) {
	if strings.TrimSpace(uri) == "" {
		return nil, errors.New("empty store URI")
	}
	scheme, rest, ok := strings.Cut(uri, "://")
	if !ok {
		return newFileStore(uri)
	}
	switch scheme {
	case "file":
		u, err := url.Parse(uri)
		if err != nil {
			return nil, fmt.Errorf("invalid URI %q: %w", uri, err)
		}
		if u.Host != "" && u.Host != "localhost" {
			return nil, fmt.Errorf("invalid URI %q: file URIs take no host (use file:///abs/path)", uri)
		}
		return newFileStore(u.Path)
	case "s3":
		bucket, prefix, _ := strings.Cut(rest, "/")
		return newS3Store(ctx, bucket, prefix, os.Getenv)
	default:
		return nil, fmt.Errorf("unsupported URI scheme %q in %q (want file:// or s3://)", scheme, uri)
	}
}

// Split splits an object URI into the URI of its parent and its base name, so that
// Open(parent) then Get(name) reads the object.
func Split(uri string) (parent, name string, err error) {
	trimmed := strings.TrimRight(uri, "/")
	scheme, rest, ok := strings.Cut(trimmed, "://")
	if !ok {
		dir, base := filepath.Split(trimmed)
		if base == "" {
			return "", "", fmt.Errorf("URI %q names no object", uri)
		}
		if dir == "" {
			dir = "."
		}
		return dir, base, nil
	}
	i := strings.LastIndex(rest, "/")
	if i < 0 || i == len(rest)-1 || (scheme == "s3" && !strings.Contains(rest, "/")) {
		return "", "", fmt.Errorf("URI %q names no object", uri)
	}
	if i == 0 {
		return scheme + ":///", rest[1:], nil
	}
	return scheme + "://" + rest[:i], rest[i+1:], nil
}

// ReadURI reads the object named by uri.
func ReadURI(ctx context.Context, uri string) ([]byte, error) {
	s, name, err := openObject(ctx, uri)
	if err != nil {
		return nil, err
	}
	return s.Get(ctx, name)
}

// openObject opens the store holding the object named by uri and returns the object's key in it.
func openObject(ctx context.Context, uri string) (Store, string, error) {
	parent, name, err := Split(uri)
	if err != nil {
		return nil, "", err
	}
	s, err := Open(ctx, parent)
	if err != nil {
		return nil, "", err
	}
	return s, name, nil
}

// OpenReader opens the object named by uri as a stream; the caller closes it.
func OpenReader(ctx context.Context, uri string) (io.ReadCloser, error) {
	s, name, err := openObject(ctx, uri)
	if err != nil {
		return nil, err
	}
	return s.Open(ctx, name)
}

// LocalFile returns the path of a local file holding the object named by uri: the file itself for a file URI or
// path, else a temporary copy the object is streamed into. release removes that copy (and does nothing for a
// local file).
func LocalFile(ctx context.Context, uri string) (local string, release func(), err error) {
	s, name, err := openObject(ctx, uri)
	if err != nil {
		return "", nil, err
	}
	if fs, ok := s.(*fileStore); ok {
		p, err := fs.path(name)
		if err != nil {
			return "", nil, err
		}
		if _, err := os.Stat(p); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return "", nil, fmt.Errorf("%s: %w", fs.URI(name), ErrNotExist)
			}
			return "", nil, fmt.Errorf("error reading %s: %w", fs.URI(name), err)
		}
		return p, func() {}, nil
	}
	r, err := s.Open(ctx, name)
	if err != nil {
		return "", nil, err
	}
	defer r.Close()
	f, err := os.CreateTemp("", "mlpipe-"+path.Base(name)+"-*")
	if err != nil {
		return "", nil, fmt.Errorf("error creating a local copy of %s: %w", uri, err)
	}
	release = func() { _ = os.Remove(f.Name()) }
	_, err = io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		release()
		return "", nil, fmt.Errorf("error downloading %s: %w", uri, err)
	}
	return f.Name(), release, nil
}

// Join joins a store URI and a key with exactly one slash.
func Join(uri, key string) string {
	if key == "" {
		return uri
	}
	return strings.TrimRight(uri, "/") + "/" + strings.TrimLeft(key, "/")
}

// Digest returns "sha256:<hex>" of data.
func Digest(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// cleanKey validates a key: slash-separated, relative, without "." or ".." elements.
func cleanKey(key string) (string, error) {
	if key == "" {
		return "", errors.New("empty object key")
	}
	if strings.HasPrefix(key, "/") || path.Clean(key) != key {
		return "", fmt.Errorf("invalid object key %q: must be a clean relative path", key)
	}
	for _, el := range strings.Split(key, "/") {
		if el == ".." || el == "." {
			return "", fmt.Errorf("invalid object key %q: no . or .. elements", key)
		}
	}
	return key, nil
}
