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
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/notification"
)

// MinIO credentials of the test server.
const (
	MinIOUser     = "mlpipe-test"
	MinIOPassword = "mlpipe-test-secret"
	MinIORegion   = "us-east-1"
)

// MinIO is a MinIO server of a test.
type MinIO struct {
	// Endpoint is http://HOST:PORT, as Pods and the host reach it.
	Endpoint string
	// Client is a minio-go client of the server.
	Client *minio.Client
}

// MinIOWebhook configures MinIO's webhook notification target "MLPIPE".
type MinIOWebhook struct {
	// Endpoint receives the notifications; Token is sent as "Bearer <token>".
	Endpoint, Token string
}

var minioAPIAddr = regexp.MustCompile(`API:\s+http://([0-9.]+:\d+)`)

// StartMinIO starts MinIO listening on host (an address Pods reach, such as Cluster.HostIP) for the test and
// stops it when the test ends. With notify, it sends bucket notifications there, queued on disk (at least once).
func StartMinIO(t testing.TB, bin, host string, notify *MinIOWebhook) *MinIO {
	t.Helper()
	m, stop, err := RunMinIO(bin, host, 0, t.TempDir(), notify)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return m
}

// RunMinIO starts MinIO on host:port (0: any free port) with its data (and notification queue) under dir, and
// returns it with the function that stops it.
func RunMinIO(bin, host string, port int, dir string, notify *MinIOWebhook) (*MinIO, func(), error) {
	data, queue := filepath.Join(dir, "data"), filepath.Join(dir, "queue")
	for _, d := range []string{data, queue} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, nil, err
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "server", "--address", net.JoinHostPort(host, strconv.Itoa(port)), "--console-address", "127.0.0.1:0", data)
	cmd.Env = append(os.Environ(), "MINIO_ROOT_USER="+MinIOUser, "MINIO_ROOT_PASSWORD="+MinIOPassword,
		"MINIO_BROWSER=off", "MINIO_UPDATE=off", "MINIO_REGION="+MinIORegion)
	if notify != nil {
		cmd.Env = append(cmd.Env, "MINIO_NOTIFY_WEBHOOK_ENABLE_MLPIPE=on",
			"MINIO_NOTIFY_WEBHOOK_ENDPOINT_MLPIPE="+notify.Endpoint,
			"MINIO_NOTIFY_WEBHOOK_AUTH_TOKEN_MLPIPE=Bearer "+notify.Token,
			"MINIO_NOTIFY_WEBHOOK_QUEUE_DIR_MLPIPE="+queue)
	}
	setProcessGroup(cmd)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		return nil, nil, err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		cancel()
		return nil, nil, fmt.Errorf("error starting MinIO: %w", err)
	}
	stop := func() { cancel(); _ = cmd.Wait() }
	addr := make(chan string, 1)
	var mu sync.Mutex
	var tail strings.Builder
	go func() {
		sc := bufio.NewScanner(out)
		sent := false
		for sc.Scan() {
			mu.Lock()
			if tail.Len() < 16384 {
				tail.WriteString(sc.Text() + "\n")
			}
			mu.Unlock()
			if m := minioAPIAddr.FindStringSubmatch(sc.Text()); m != nil && !sent && strings.HasPrefix(m[1], host+":") {
				addr <- m[1]
				sent = true
			}
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	var hostPort string
	select {
	case hostPort = <-addr:
	case <-time.After(60 * time.Second):
		stop()
		mu.Lock()
		defer mu.Unlock()
		return nil, nil, fmt.Errorf("MinIO did not start:\n%s", tail.String())
	}
	for deadline := time.Now().Add(30 * time.Second); ; {
		resp, err := http.Get("http://" + hostPort + "/minio/health/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			stop()
			return nil, nil, fmt.Errorf("MinIO not ready: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	client, err := minio.New(hostPort, &minio.Options{Creds: credentials.NewStaticV4(MinIOUser, MinIOPassword, ""), Region: MinIORegion})
	if err != nil {
		stop()
		return nil, nil, err
	}
	return &MinIO{Endpoint: "http://" + hostPort, Client: client}, stop, nil
}

// MakeBucket creates a bucket.
func (m *MinIO) MakeBucket(t testing.TB, name string) {
	t.Helper()
	if err := m.Client.MakeBucket(context.Background(), name, minio.MakeBucketOptions{Region: MinIORegion}); err != nil {
		t.Fatalf("creating bucket %s: %v", name, err)
	}
}

// PutFile uploads a local file as bucket/key.
func (m *MinIO) PutFile(t testing.TB, bucket, key, path string) minio.UploadInfo {
	t.Helper()
	info, err := m.Client.FPutObject(context.Background(), bucket, key, path, minio.PutObjectOptions{})
	if err != nil {
		t.Fatalf("uploading %s to s3://%s/%s: %v", path, bucket, key, err)
	}
	return info
}

// List lists the keys under prefix, recursively.
func (m *MinIO) List(t testing.TB, bucket, prefix string) []string {
	t.Helper()
	var keys []string
	for obj := range m.Client.ListObjects(context.Background(), bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if obj.Err != nil {
			t.Fatalf("listing s3://%s/%s: %v", bucket, prefix, obj.Err)
		}
		keys = append(keys, obj.Key)
	}
	return keys
}

// Get reads bucket/key.
func (m *MinIO) Get(t testing.TB, bucket, key string) []byte {
	t.Helper()
	obj, err := m.Client.GetObject(context.Background(), bucket, key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatalf("reading s3://%s/%s: %v", bucket, key, err)
	}
	defer obj.Close()
	data, err := io.ReadAll(obj)
	if err != nil {
		t.Fatalf("reading s3://%s/%s: %v", bucket, key, err)
	}
	return data
}

// Notify makes the bucket send ObjectCreated notifications of keys under prefix ending in suffix to the
// webhook target StartMinIO configured.
func (m *MinIO) Notify(bucket, prefix, suffix string) error {
	cfg := notification.NewConfig(notification.NewArn("minio", "sqs", "", "MLPIPE", "webhook"))
	cfg.AddEvents(notification.ObjectCreatedAll)
	cfg.AddFilterPrefix(prefix)
	cfg.AddFilterSuffix(suffix)
	conf := notification.Configuration{}
	conf.AddQueue(cfg)
	if err := m.Client.SetBucketNotification(context.Background(), bucket, conf); err != nil {
		return fmt.Errorf("error setting the notification of bucket %s: %w", bucket, err)
	}
	return nil
}
