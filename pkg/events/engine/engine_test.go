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

package engine

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlpipe/mlpipe/pkg/events"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	listers "github.com/tektoncd/pipeline/pkg/client/listers/pipeline/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	testingclock "k8s.io/utils/clock/testing"
)

func testBody(t *testing.T, name, etag string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return []byte(strings.Replace(string(data), "e5ebd4c02cefbe7955977c67ada242b7", etag, 1))
}

var auth = http.Header{"Authorization": {"Bearer t"}}

func newTarget(window time.Duration) *Target {
	return &Target{Namespace: "ml", Pipeline: "churn", QuietWindow: window, Credentials: &StaticAuth{Token: []byte("t")}}
}

// TestHandleContextEndsWindow: a request whose context ends inside its quiet window fails as Unavailable (the
// sender retries) and leaves no waiter behind.
func TestHandleContextEndsWindow(t *testing.T) {
	fc := testingclock.NewFakeClock(time.Unix(0, 0))
	e := &Engine{Clock: fc}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := e.Handle(ctx, newTarget(time.Second), auth, testBody(t, "minio-put.json", "a"))
		errc <- err
	}()
	for fc.Waiters() == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	err := <-errc
	var ee *Error
	if !errors.As(err, &ee) || ee.Kind != KindUnavailable || !strings.Contains(err.Error(), "coalescing s3://datasets/churn/train.csv") {
		t.Fatalf("Handle() = %v, want KindUnavailable naming the object", err)
	}
	if fc.Waiters() != 0 || len(e.groups) != 0 {
		t.Errorf("%d timers and %d groups left", fc.Waiters(), len(e.groups))
	}
}

// TestRedeliveryDoesNotSupersede: while a new object holds the quiet window, a redelivery of an object whose run
// already exists is acknowledged at once and the new object still starts after its window.
func TestRedeliveryDoesNotSupersede(t *testing.T) {
	fc := testingclock.NewFakeClock(time.Unix(0, 0))
	idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	old := events.Object{DedupKey: "datasets/churn/train.csv@etag:old"}
	_ = idx.Add(&v1.PipelineRun{ObjectMeta: metav1.ObjectMeta{Name: old.RunName("churn"), Namespace: "ml"}})
	e := &Engine{Clock: fc, Runs: listers.NewPipelineRunLister(idx)}
	tg := newTarget(time.Second)
	type out struct {
		res *Result
		err error
	}
	newc := make(chan out, 1)
	go func() {
		res, err := e.Handle(context.Background(), tg, auth, testBody(t, "minio-put.json", "new"))
		newc <- out{res, err}
	}()
	for fc.Waiters() == 0 {
		time.Sleep(time.Millisecond)
	}
	res, err := e.Handle(context.Background(), tg, auth, testBody(t, "minio-put.json", "old"))
	if err != nil || len(res.Starts()) != 1 || res.Starts()[0].Run != "churn-s3-7ad79ee0934010da" {
		t.Fatalf("redelivery: %+v, %v; want it acknowledged as the existing run churn-s3-7ad79ee0934010da", res, err)
	}
	fc.Step(time.Second)
	got := <-newc
	if got.err != nil || len(got.res.Starts()) != 1 || got.res.Starts()[0].Object.ETag != "new" {
		t.Errorf("the new object: %+v, %v; want it started", got.res, got.err)
	}
}

// FuzzHandle runs arbitrary bodies through the whole chain as the interceptor configures it (one run per
// notification): it never panics, every failure is an *Error, and what it starts is at most one run with a
// DNS-1123 name of at most 63 characters.
func FuzzHandle(f *testing.F) {
	files, _ := filepath.Glob("../testdata/*.json")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"Records":[{}]}`))
	e := &Engine{}
	tg := newTarget(0)
	tg.MaxStarts = 1
	f.Fuzz(func(t *testing.T, body []byte) {
		res, err := e.Handle(context.Background(), tg, auth, body)
		if err != nil {
			var ee *Error
			if !errors.As(err, &ee) || ee.Kind != KindInvalid {
				t.Fatalf("error %v is not an *Error of KindInvalid", err)
			}
			return
		}
		starts := res.Starts()
		if len(starts) > 1 {
			t.Fatalf("%d runs to start, want at most 1", len(starts))
		}
		for _, v := range starts {
			if len(v.Run) > 63 || strings.Trim(v.Run, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" || v.Run[0] == '-' {
				t.Fatalf("bad run name %q", v.Run)
			}
		}
	})
}
