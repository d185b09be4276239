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
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mlpipe/mlpipe/pkg/policy"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/client/clientset/versioned/fake"
	listers "github.com/tektoncd/pipeline/pkg/client/listers/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"
	testingclock "k8s.io/utils/clock/testing"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
)

// laggingCache is a PipelineRun cache that shows a run only when the test says so: a watch whose lag the test
// controls.
func laggingCache() (cache.Indexer, listers.PipelineRunLister) {
	idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	return idx, listers.NewPipelineRunLister(idx)
}

func forbidTarget() *Target {
	tg := newTarget(0)
	tg.Policy = policy.Forbid
	return tg
}

// burst sends n notifications for distinct objects (etags <prefix>0..<prefix><n-1>) concurrently and returns the verdicts that
// start and those that were skipped.
func burst(t *testing.T, e *Engine, tg *Target, prefix string, n int) (starts, skipped []Verdict) {
	t.Helper()
	var mu sync.Mutex
	var wg sync.WaitGroup
	ready := make(chan struct{})
	for i := 0; i < n; i++ {
		body := testBody(t, "minio-put.json", fmt.Sprintf("%s%d", prefix, i))
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-ready
			res, err := e.Handle(context.Background(), tg, auth, body)
			if err != nil {
				t.Errorf("Handle: %v", err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for _, v := range res.Verdicts {
				if v.Start {
					starts = append(starts, v)
				} else {
					skipped = append(skipped, v)
				}
			}
		}()
	}
	close(ready)
	wg.Wait()
	return starts, skipped
}

// TestForbidHoldsUnderBurst: 50 concurrent notifications for distinct objects of one pipeline under Forbid, with
// a cache that does not show any run yet (the watch lags): exactly one starts, the other 49 are skipped with
// Forbid's reason naming the admitted run. Once the cache shows that run, it (not the admission) keeps Forbid;
// once it is done, the next object starts.
func TestForbidHoldsUnderBurst(t *testing.T) {
	idx, lister := laggingCache()
	fc := testingclock.NewFakeClock(time.Unix(1_700_000_000, 0))
	e := &Engine{Runs: lister, Clock: fc}
	tg := forbidTarget()

	starts, skipped := burst(t, e, tg, "a", 50)
	if len(starts) != 1 || len(skipped) != 49 {
		t.Fatalf("%d started and %d skipped, want 1 and 49", len(starts), len(skipped))
	}
	winner := starts[0].Run
	for _, v := range skipped {
		want := "concurrencyPolicy Forbid: 1 run(s) still active ([" + winner + "]); started by this process and not yet in its cache: " + winner
		if v.Skipped != want {
			t.Fatalf("skipped %s: %q, want %q", v.Run, v.Skipped, want)
		}
	}
	// A redelivery of the admitted object is the same start again, not a loser.
	res, err := e.Handle(context.Background(), tg, auth, testBody(t, "minio-put.json", starts[0].Object.ETag))
	if err != nil || len(res.Starts()) != 1 || res.Starts()[0].Run != winner {
		t.Fatalf("redelivery of the winner: %+v, %v; want it started again as %s", res, err, winner)
	}

	// The watch delivers the run: the cache decides from now on, and the admission is forgotten.
	run := &v1.PipelineRun{ObjectMeta: metav1.ObjectMeta{Name: winner, Namespace: "ml", Labels: map[string]string{policy.PipelineLabel: "churn"},
		CreationTimestamp: metav1.NewTime(fc.Now())}}
	if err := idx.Add(run); err != nil {
		t.Fatal(err)
	}
	res, err = e.Handle(context.Background(), tg, auth, testBody(t, "minio-put.json", "late"))
	if err != nil || len(res.Starts()) != 0 || res.Verdicts[0].Skipped != "concurrencyPolicy Forbid: 1 run(s) still active (["+winner+"])" {
		t.Fatalf("while the cached run is active: %+v, %v; want skipped by Forbid", res, err)
	}
	if n := len(e.slot("ml/churn").admitted); n != 0 {
		t.Errorf("%d admissions left once the cache shows the run, want 0", n)
	}

	done := run.DeepCopy()
	done.Status.Conditions = duckv1.Conditions{{Type: apis.ConditionSucceeded, Status: corev1.ConditionTrue}}
	if err := idx.Update(done); err != nil {
		t.Fatal(err)
	}
	starts, skipped = burst(t, e, tg, "b", 50)
	if len(starts) != 1 || len(skipped) != 49 {
		t.Fatalf("second burst after the run is done: %d started and %d skipped, want 1 and 49", len(starts), len(skipped))
	}
}

// TestForbidAdmissionEnds: an admitted run that is abandoned (its create was refused), or that the cache has not
// shown within AdmissionTTL, no longer holds Forbid.
func TestForbidAdmissionEnds(t *testing.T) {
	_, lister := laggingCache()
	fc := testingclock.NewFakeClock(time.Unix(1_700_000_000, 0))
	e := &Engine{Runs: lister, Clock: fc, AdmissionTTL: 30 * time.Second}
	tg := forbidTarget()
	handle := func(etag string) *Verdict {
		t.Helper()
		res, err := e.Handle(context.Background(), tg, auth, testBody(t, "minio-put.json", etag))
		if err != nil {
			t.Fatal(err)
		}
		return &res.Verdicts[0]
	}

	a := handle("a")
	if !a.Start {
		t.Fatalf("first object: %+v, want it started", a)
	}
	if b := handle("b"); b.Start || !strings.Contains(b.Skipped, "not yet in its cache: "+a.Run) {
		t.Fatalf("second object while the first is admitted: %+v, want it skipped", b)
	}
	e.Abandon(tg, a.Run)
	c := handle("c")
	if !c.Start {
		t.Fatalf("after Abandon: %+v, want the next object started", c)
	}

	fc.Step(29 * time.Second)
	if d := handle("d"); d.Start {
		t.Fatalf("29 s after admission: %+v, want it skipped", d)
	}
	fc.Step(time.Second)
	if d := handle("d"); !d.Start {
		t.Fatalf("30 s after admission (the TTL): %+v, want it started", d)
	}
}

// TestReplaceCancelsAdmittedRun: under Replace, a run this Engine admitted that the cache does not show yet is
// cancelled by the next object like a cached one (here it exists on the API server but the watch lags).
func TestReplaceCancelsAdmittedRun(t *testing.T) {
	_, lister := laggingCache()
	client := fake.NewSimpleClientset()
	e := &Engine{Runs: lister, Tekton: client}
	tg := newTarget(0)
	tg.Policy = policy.Replace
	first, err := e.Handle(context.Background(), tg, auth, testBody(t, "minio-put.json", "first"))
	if err != nil || len(first.Starts()) != 1 {
		t.Fatalf("first object: %+v, %v; want it started", first, err)
	}
	a := first.Starts()[0].Run
	if _, err := client.TektonV1().PipelineRuns("ml").Create(context.Background(), &v1.PipelineRun{ObjectMeta: metav1.ObjectMeta{Name: a, Namespace: "ml"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	second, err := e.Handle(context.Background(), tg, auth, testBody(t, "minio-put.json", "second"))
	if err != nil || len(second.Starts()) != 1 {
		t.Fatalf("second object: %+v, %v; want it started", second, err)
	}
	got, err := client.TektonV1().PipelineRuns("ml").Get(context.Background(), a, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Spec.Status != v1.PipelineRunSpecStatusCancelledRunFinally {
		t.Errorf("admitted run %s has spec.status %q, want CancelledRunFinally", a, got.Spec.Status)
	}
}

// deliveringLister is a PipelineRun cache whose watch delivers run right after the next namespaced List, once
// armed: the run appears between the engine's List and its look at the runs it admitted.
type deliveringLister struct {
	listers.PipelineRunLister
	idx   cache.Indexer
	mu    sync.Mutex
	armed *v1.PipelineRun
}

func (d *deliveringLister) PipelineRuns(ns string) listers.PipelineRunNamespaceLister {
	return &deliveringNamespace{PipelineRunNamespaceLister: d.PipelineRunLister.PipelineRuns(ns), d: d}
}

type deliveringNamespace struct {
	listers.PipelineRunNamespaceLister
	d *deliveringLister
}

func (n *deliveringNamespace) List(sel labels.Selector) ([]*v1.PipelineRun, error) {
	out, err := n.PipelineRunNamespaceLister.List(sel)
	n.d.mu.Lock()
	defer n.d.mu.Unlock()
	if n.d.armed != nil {
		_ = n.d.idx.Add(n.d.armed)
		n.d.armed = nil
	}
	return out, err
}

// TestForbidRunDeliveredDuringDecision: the admitted run reaches the cache while a second notification is being
// decided (after its List of the cache). It still counts as active: the second object is skipped, not started.
func TestForbidRunDeliveredDuringDecision(t *testing.T) {
	idx, base := laggingCache()
	lister := &deliveringLister{PipelineRunLister: base, idx: idx}
	e := &Engine{Runs: lister, Clock: testingclock.NewFakeClock(time.Unix(1_700_000_000, 0))}
	tg := forbidTarget()

	res, err := e.Handle(context.Background(), tg, auth, testBody(t, "minio-put.json", "first"))
	if err != nil || len(res.Starts()) != 1 {
		t.Fatalf("first object: %+v, %v; want it started", res, err)
	}
	winner := res.Starts()[0].Run
	lister.mu.Lock()
	lister.armed = &v1.PipelineRun{ObjectMeta: metav1.ObjectMeta{Name: winner, Namespace: "ml",
		Labels: map[string]string{policy.PipelineLabel: "churn"}}}
	lister.mu.Unlock()

	res, err = e.Handle(context.Background(), tg, auth, testBody(t, "minio-put.json", "second"))
	if err != nil || len(res.Starts()) != 0 || len(res.Verdicts) != 1 {
		t.Fatalf("second object while %s is active (delivered mid-decision): %+v, %v; want it skipped", winner, res, err)
	}
	if want := "concurrencyPolicy Forbid: 1 run(s) still active ([" + winner + "])"; !strings.HasPrefix(res.Verdicts[0].Skipped, want) {
		t.Errorf("skipped: %q, want Forbid's reason naming %s", res.Verdicts[0].Skipped, winner)
	}
}
