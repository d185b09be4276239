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

package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/minio/minio-go/v7"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mlpipe/mlpipe/pkg/store"
	"github.com/mlpipe/mlpipe/pkg/store/storetest"
)

func TestSplit(t *testing.T) {
	tests := []struct {
		uri, parent, name string
	}{
		{uri: "s3://bucket/a/b.csv", parent: "s3://bucket/a", name: "b.csv"},
		{uri: "s3://bucket/b.csv", parent: "s3://bucket", name: "b.csv"},
		{uri: "file:///data/train.csv", parent: "file:///data", name: "train.csv"},
		{uri: "file:///train.csv", parent: "file:///", name: "train.csv"},
		{uri: "data/train.csv", parent: "data/", name: "train.csv"},
		{uri: "train.csv", parent: ".", name: "train.csv"},
	}
	for _, tt := range tests {
		t.Run(tt.uri, func(t *testing.T) {
			parent, name, err := store.Split(tt.uri)
			if err != nil {
				t.Fatal(err)
			}
			if parent != tt.parent || name != tt.name {
				t.Errorf("Split(%q) = %q, %q; want %q, %q", tt.uri, parent, name, tt.parent, tt.name)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	tests := []struct{ uri, want string }{
		{uri: "", want: "empty store URI"},
		{uri: "gs://bucket/x", want: `unsupported URI scheme "gs"`},
		{uri: "file://host/x", want: "file URIs take no host"},
		{uri: "s3:///x", want: "no bucket"},
	}
	for _, tt := range tests {
		t.Run(tt.uri, func(t *testing.T) {
			_, err := store.Open(context.Background(), tt.uri)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Open(%q) error = %v, want %q", tt.uri, err, tt.want)
			}
		})
	}
}

func TestDigest(t *testing.T) {
	if got := store.Digest([]byte("abc")); got != "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Errorf("Digest = %s", got)
	}
}

// exercise runs the Store contract against s.
func exercise(t *testing.T, s store.Store) {
	ctx := context.Background()
	if _, err := s.Get(ctx, "missing.json"); !errors.Is(err, store.ErrNotExist) {
		t.Errorf("Get(missing) = %v, want ErrNotExist", err)
	}
	if err := s.Put(ctx, "a/x.json", []byte("1")); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "a/x.json", []byte("2")); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(ctx, "a/x.json"); err != nil || string(got) != "2" {
		t.Errorf("Get = %q, %v", got, err)
	}
	if err := s.Create(ctx, "a/y.json", []byte("first")); err != nil {
		t.Fatal(err)
	}
	if err := s.Create(ctx, "a/y.json", []byte("second")); !errors.Is(err, store.ErrExist) {
		t.Errorf("second Create = %v, want ErrExist", err)
	}
	if got, _ := s.Get(ctx, "a/y.json"); string(got) != "first" {
		t.Errorf("Create overwrote: %q", got)
	}
	if _, err := s.Get(ctx, "../escape"); err == nil {
		t.Error("Get(../escape) succeeded")
	}
	keys, err := s.List(ctx, "a/")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a/x.json", "a/y.json"}, keys); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}
	if err := s.Delete(ctx, "a/x.json"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "a/x.json"); err != nil {
		t.Errorf("second Delete = %v", err)
	}

	// Streams: Open reads what Put and PutFile wrote; LocalFile gives a local file with the content.
	if _, err := s.Open(ctx, "missing.bin"); !errors.Is(err, store.ErrNotExist) {
		t.Errorf("Open(missing) = %v, want ErrNotExist", err)
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<17) // 2 MiB
	src := filepath.Join(t.TempDir(), "src.bin")
	if err := os.WriteFile(src, big, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.PutFile(ctx, "f/big.bin", src); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(src); err != nil {
		t.Errorf("PutFile did not leave its source: %v", err)
	}
	r, err := s.Open(ctx, "f/big.bin")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	_ = r.Close()
	if err != nil || !bytes.Equal(got, big) {
		t.Errorf("Open after PutFile read %d bytes, %v; want the %d written", len(got), err, len(big))
	}
	local, release, err := store.LocalFile(ctx, s.URI("f/big.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(local); err != nil || !bytes.Equal(got, big) {
		t.Errorf("LocalFile %s holds %d bytes, %v", local, len(got), err)
	}
	release()
	if err := s.Delete(ctx, "f/big.bin"); err != nil {
		t.Fatal(err)
	}

	// Concurrent exclusive creates of one key: exactly one wins.
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			err := s.Create(ctx, "race/key", []byte(fmt.Sprint(i)))
			if err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			} else if !errors.Is(err, store.ErrExist) {
				t.Errorf("Create: %v", err)
			}
		}(i)
	}
	wg.Wait()
	if wins != 1 {
		t.Errorf("%d concurrent Creates won, want 1", wins)
	}
}

func TestFileStore(t *testing.T) {
	dir := t.TempDir()
	s, err := store.Open(context.Background(), "file://"+dir)
	if err != nil {
		t.Fatal(err)
	}
	if s.URI("a/b") != "file://"+filepath.Join(dir, "a", "b") {
		t.Errorf("URI = %s", s.URI("a/b"))
	}
	exercise(t, s)
	// No temporary files are left behind.
	err = filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() && filepath.Base(p)[0] == '.' {
			t.Errorf("temporary file left: %s", p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestFileStoreUnwritable(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(context.Background(), blocker) // a regular file where a directory should be
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(context.Background(), "x.json", []byte("{}")); err == nil {
		t.Error("Put under a regular file succeeded")
	}
}

func TestS3Store(t *testing.T) {
	m := storetest.Start(t)
	m.SetEnv(t)
	m.MakeBucket(t, "artifacts")
	s, err := store.Open(context.Background(), "s3://artifacts/some/prefix")
	if err != nil {
		t.Fatal(err)
	}
	if s.URI("x") != "s3://artifacts/some/prefix/x" {
		t.Errorf("URI = %s", s.URI("x"))
	}
	exercise(t, s)
	data, err := store.ReadURI(context.Background(), "s3://artifacts/some/prefix/a/y.json")
	if err != nil || string(data) != "first" {
		t.Errorf("ReadURI = %q, %v", data, err)
	}
	missing, err := store.Open(context.Background(), "s3://no-such-bucket/p")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := missing.Get(context.Background(), "x"); !errors.Is(err, store.ErrNotExist) {
		t.Errorf("Get from a missing bucket = %v, want ErrNotExist", err)
	}
}

func TestS3Endpoint(t *testing.T) {
	tests := []struct {
		s3, generic, host string
		secure            bool
	}{
		{host: "s3.amazonaws.com", secure: true},
		{generic: "http://127.0.0.1:9000", host: "127.0.0.1:9000"},
		{s3: "https://minio.example.com", generic: "http://other:1", host: "minio.example.com", secure: true},
	}
	for _, tt := range tests {
		t.Setenv("AWS_ENDPOINT_URL_S3", tt.s3)
		t.Setenv("AWS_ENDPOINT_URL", tt.generic)
		host, secure, err := store.S3Endpoint()
		if err != nil || host != tt.host || secure != tt.secure {
			t.Errorf("S3Endpoint() = %q, %v, %v; want %q, %v", host, secure, err, tt.host, tt.secure)
		}
	}
}

// TestFingerprint: an object's fingerprint changes with its content, a prefix's with any object under it; the
// AWS_* settings come from the given environment, not the process's.
func TestFingerprint(t *testing.T) {
	m := storetest.Start(t)
	m.MakeBucket(t, "data")
	env := map[string]string{"AWS_ENDPOINT_URL": m.URL(), "AWS_ACCESS_KEY_ID": m.AccessKey, "AWS_SECRET_ACCESS_KEY": m.SecretKey, "AWS_REGION": "us-east-1"}
	getenv := func(k string) string { return env[k] }
	ctx := context.Background()
	put := func(key, data string) {
		t.Helper()
		if _, err := m.Client.PutObject(ctx, "data", key, strings.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	fp := func(uri string) string {
		t.Helper()
		f, err := store.Fingerprint(ctx, uri, getenv)
		if err != nil {
			t.Fatalf("Fingerprint(%s): %v", uri, err)
		}
		return f
	}
	if got := fp("s3://data/churn/train.csv"); got != "absent" {
		t.Errorf("missing object: %q, want absent", got)
	}
	put("churn/train.csv", "a,b\n1,2\n")
	put("churn/test.csv", "a,b\n3,4\n")
	obj1, dir1 := fp("s3://data/churn/train.csv"), fp("s3://data/churn")
	if obj1 == fp("s3://data/churn/test.csv") || !strings.HasPrefix(obj1, "object etag=") || !strings.HasPrefix(dir1, "prefix objects=2 ") {
		t.Errorf("fingerprints: object %q, prefix %q", obj1, dir1)
	}
	if fp("s3://data/churn/") != dir1 {
		t.Error("s3://data/churn and s3://data/churn/ differ")
	}
	put("churn/train.csv", "a,b\n1,2\n5,6\n") // new data at the same key
	if fp("s3://data/churn/train.csv") == obj1 || fp("s3://data/churn") == dir1 {
		t.Error("fingerprints did not change with the content")
	}
	if _, err := store.Fingerprint(ctx, "s3://no-such-bucket/x.csv", getenv); err == nil {
		t.Error("a missing bucket fingerprinted without error")
	}
}
