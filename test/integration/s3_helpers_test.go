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

package integration

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/notification"
	"github.com/mlpipe/mlpipe/test/cluster"
)

// notifyingMinIO is a real MinIO server whose webhook target "MLPIPE" posts bucket notifications to endpoint
// with a bearer token, through a durable queue directory (at-least-once: retried while the receiver fails).
type notifyingMinIO struct {
	client *minio.Client
}

func startNotifyingMinIO(t *testing.T, bin, endpoint, token string) *notifyingMinIO {
	t.Helper()
	m := cluster.StartMinIO(t, bin, "127.0.0.1", &cluster.MinIOWebhook{Endpoint: endpoint, Token: token})
	return &notifyingMinIO{client: m.Client}
}

// bucket creates a bucket that notifies the webhook target of created objects under prefix.
func (m *notifyingMinIO) bucket(t *testing.T, name, prefix string) {
	t.Helper()
	ctx := context.Background()
	if err := m.client.MakeBucket(ctx, name, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	arn, err := notification.NewArnFromString("arn:minio:sqs::MLPIPE:webhook")
	if err != nil {
		t.Fatal(err)
	}
	qc := notification.NewConfig(arn)
	qc.AddEvents(notification.ObjectCreatedAll)
	qc.AddFilterPrefix(prefix)
	cfg := notification.Configuration{}
	cfg.AddQueue(qc)
	if err := m.client.SetBucketNotification(ctx, name, cfg); err != nil {
		t.Fatalf("setting the bucket notification: %v", err)
	}
}

func (m *notifyingMinIO) put(t *testing.T, bucket, key, data string) {
	t.Helper()
	if _, err := m.client.PutObject(context.Background(), bucket, key, strings.NewReader(data), int64(len(data)), minio.PutObjectOptions{ContentType: "text/csv"}); err != nil {
		t.Fatalf("putting %s/%s: %v", bucket, key, err)
	}
}

// switchProxy forwards TCP connections to target while up; while down it refuses them and cuts open ones, so
// the API server is unreachable for its clients.
type switchProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	up     bool
	conns  map[net.Conn]bool
}

func newSwitchProxy(t *testing.T, target string) *switchProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &switchProxy{ln: ln, target: target, up: true, conns: map[net.Conn]bool{}}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			up := p.up
			if up {
				p.conns[c] = true
			}
			p.mu.Unlock()
			if !up {
				c.Close()
				continue
			}
			go p.forward(c)
		}
	}()
	return p
}

func (p *switchProxy) forward(c net.Conn) {
	defer func() { p.mu.Lock(); delete(p.conns, c); p.mu.Unlock(); c.Close() }()
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer s.Close()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(s, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, s); done <- struct{}{} }()
	<-done
}

func (p *switchProxy) set(up bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.up = up
	if !up {
		for c := range p.conns {
			c.Close()
		}
	}
}

func (p *switchProxy) addr() string { return p.ln.Addr().String() }

// serveHTTP serves h on a free local port until the test ends and returns its host:port.
func serveHTTP(t testing.TB, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}
