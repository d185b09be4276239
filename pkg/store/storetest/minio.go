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

// Package storetest starts a real MinIO server for tests of s3:// code paths.
//
// The server binary is found through the environment variable MLPIPE_MINIO_BIN (the Makefile builds MinIO from
// the Go module proxy into ~/.cache/mlpipe/tools and sets it for `make test`); tests skip when it is unset.
package storetest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// EnvMinIOBin names the environment variable that holds the path of the MinIO server binary.
const EnvMinIOBin = "MLPIPE_MINIO_BIN"

// MinIO is a running MinIO server owned by one test.
type MinIO struct {
	// Endpoint is "127.0.0.1:<port>".
	Endpoint string
	// AccessKey and SecretKey are the root credentials.
	AccessKey, SecretKey string
	// Client is a minio-go client for the server, for test setup and assertions.
	Client *minio.Client
}

// URL returns the server's base URL, e.g. "http://127.0.0.1:9000".
func (m *MinIO) URL() string { return "http://" + m.Endpoint }

// SetEnv points the AWS_* environment variables that pkg/store reads at this server for the rest of the test.
func (m *MinIO) SetEnv(t testing.TB) {
	t.Helper()
	t.Setenv("AWS_ENDPOINT_URL_S3", m.URL())
	t.Setenv("AWS_ENDPOINT_URL", m.URL())
	t.Setenv("AWS_ACCESS_KEY_ID", m.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", m.SecretKey)
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_REGION", "us-east-1")
}

// MakeBucket creates a bucket and fails the test on error.
func (m *MinIO) MakeBucket(t testing.TB, name string) {
	t.Helper()
	if err := m.Client.MakeBucket(context.Background(), name, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("error creating bucket %q: %v", name, err)
	}
}

var apiLine = regexp.MustCompile(`API:\s+(http://127\.0\.0\.1:\d+)`)

// Start starts MinIO on 127.0.0.1 with a random port and a temporary data directory, waits until it is ready, and
// stops it when the test ends. It skips the test when MLPIPE_MINIO_BIN is unset.
func Start(t testing.TB) *MinIO {
	t.Helper()
	bin := os.Getenv(EnvMinIOBin)
	if bin == "" {
		t.Skipf("%s is not set: skipping the test against a real MinIO server (run `make test`, or build MinIO "+
			"with hack/build-tools.sh and export %s=<path to minio>)", EnvMinIOBin, EnvMinIOBin)
	}
	bin, err := resolveBin(bin)
	if err != nil {
		t.Fatalf("%s: %v", EnvMinIOBin, err)
	}
	m := &MinIO{AccessKey: "mlpipe-test", SecretKey: "mlpipe-test-secret"}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "server", "--address", "127.0.0.1:0",
		"--console-address", "127.0.0.1:0", t.TempDir())
	cmd.Env = append(os.Environ(),
		"MINIO_ROOT_USER="+m.AccessKey,
		"MINIO_ROOT_PASSWORD="+m.SecretKey,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
		"MINIO_CI_CD=1",
	)
	cmd.WaitDelay = 5 * time.Second
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("error starting MinIO %s: %v", bin, err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
	})

	found := make(chan string, 1)
	var logTail strings.Builder
	go func() {
		sc := bufio.NewScanner(stdout)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			if !sent {
				if logTail.Len() < 8192 {
					logTail.WriteString(line + "\n")
				}
				if mm := apiLine.FindStringSubmatch(line); mm != nil {
					found <- mm[1]
					sent = true
				}
			}
		}
		if !sent {
			close(found)
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()

	var base string
	select {
	case u, ok := <-found:
		if !ok {
			t.Fatalf("MinIO exited before printing its API address; output:\n%s", logTail.String())
		}
		base = u
	case <-time.After(60 * time.Second):
		t.Fatalf("MinIO did not print its API address within 60s")
	}
	m.Endpoint = strings.TrimPrefix(base, "http://")

	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/minio/health/ready")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("MinIO at %s not ready after 30s (last error: %v)", base, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	client, err := minio.New(m.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(m.AccessKey, m.SecretKey, ""),
		Secure: false,
		Region: "us-east-1",
	})
	if err != nil {
		t.Fatalf("error creating MinIO client: %v", err)
	}
	m.Client = client
	return m
}

// resolveBin finds bin as given or, when it is a relative path, relative to the enclosing module's root (the
// Makefile passes paths relative to the repository, tests run in their package directory).
func resolveBin(bin string) (string, error) {
	if _, err := os.Stat(bin); err == nil || filepath.IsAbs(bin) {
		return bin, err
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			p := filepath.Join(dir, bin)
			_, err := os.Stat(p)
			return p, err
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("%s not found", bin)
		}
		dir = parent
	}
}

// String implements fmt.Stringer.
func (m *MinIO) String() string { return fmt.Sprintf("MinIO(%s)", m.Endpoint) }
