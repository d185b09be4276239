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

package pipelineschedule

import (
	"context"
	"golang.org/x/time/rate"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/mlpipe/mlpipe/pkg/apis/mlpipe/v1alpha1"
	mlpipefake "github.com/mlpipe/mlpipe/pkg/client/clientset/versioned/fake"
	listers "github.com/mlpipe/mlpipe/pkg/client/listers/mlpipe/v1alpha1"
	"github.com/mlpipe/mlpipe/pkg/policy"
	"github.com/mlpipe/mlpipe/pkg/reconciler/pipelineschedule/resources"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	tektonfake "github.com/tektoncd/pipeline/pkg/client/clientset/versioned/fake"
	pipelinelisters "github.com/tektoncd/pipeline/pkg/client/listers/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	clocktesting "k8s.io/utils/clock/testing"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
	"knative.dev/pkg/reconciler"
)

var t0 = time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)

func schedule(cronExpr string, mods ...func(*v1alpha1.PipelineSchedule)) *v1alpha1.PipelineSchedule {
	s := &v1alpha1.PipelineSchedule{
		ObjectMeta: metav1.ObjectMeta{Name: "nightly", Namespace: "ml", UID: "sched-uid", Generation: 1, CreationTimestamp: metav1.NewTime(t0)},
		Spec: v1alpha1.PipelineScheduleSpec{
			Schedule: cronExpr,
			PipelineRunTemplate: v1alpha1.PipelineRunTemplate{
				PipelineRef: &pipelinev1.PipelineRef{Name: "churn"},
				Params:      pipelinev1.Params{{Name: "as-of", Value: *pipelinev1.NewStructuredValues("$(context.scheduledTime)")}},
			},
		},
	}
	s.Status.ObservedGeneration = 1
	s.Status.WindowStart = &metav1.Time{Time: t0}
	for _, m := range mods {
		m(s)
	}
	return s
}

func ownedRun(s *v1alpha1.PipelineSchedule, slot time.Time, done corev1.ConditionStatus, finishedAt time.Time) *pipelinev1.PipelineRun {
	r := resources.MakePipelineRun(s, slot)
	r.UID = types.UID("uid-" + r.Name)
	r.CreationTimestamp = metav1.NewTime(slot)
	if done != corev1.ConditionUnknown {
		r.Status.Conditions = duckv1.Conditions{{Type: apis.ConditionSucceeded, Status: done}}
		r.Status.CompletionTime = &metav1.Time{Time: finishedAt}
	}
	return r
}

func manualRun(name string) *pipelinev1.PipelineRun {
	return &pipelinev1.PipelineRun{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ml", UID: types.UID("uid-" + name), Labels: map[string]string{policy.PipelineLabel: "churn"}, CreationTimestamp: metav1.NewTime(t0)},
		Spec:       pipelinev1.PipelineRunSpec{PipelineRef: &pipelinev1.PipelineRef{Name: "churn"}},
	}
}

type runtimeObject = runtime.Object

func toObjects(in []runtimeObject) []runtime.Object { return in }

type fixture struct {
	r        *Reconciler
	tekton   *tektonfake.Clientset
	mlpipe   *mlpipefake.Clientset
	recorder *record.FakeRecorder
	clock    *clocktesting.FakeClock
	requeued map[types.NamespacedName]time.Duration
	schedIdx cache.Indexer
	runIdx   cache.Indexer
}

// sync copies the schedule as the API server holds it into the lister, as the informer would.
func (f *fixture) sync(t *testing.T) {
	t.Helper()
	s, err := f.mlpipe.MlpipeV1alpha1().PipelineSchedules("ml").Get(context.Background(), "nightly", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.schedIdx.Update(s); err != nil {
		t.Fatal(err)
	}
	runs, err := f.tekton.TektonV1().PipelineRuns("ml").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range runs.Items {
		if err := f.runIdx.Update(&runs.Items[i]); err != nil {
			t.Fatal(err)
		}
	}
}

func newFixture(t *testing.T, now time.Time, s *v1alpha1.PipelineSchedule, runs ...*pipelinev1.PipelineRun) *fixture {
	t.Helper()
	schedIdx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	indexers := RunIndexers()
	indexers[cache.NamespaceIndex] = cache.MetaNamespaceIndexFunc
	runIdx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, indexers)
	if err := schedIdx.Add(s); err != nil {
		t.Fatal(err)
	}
	var tektonObjs []runtimeObject
	for _, r := range runs {
		if err := runIdx.Add(r); err != nil {
			t.Fatal(err)
		}
		tektonObjs = append(tektonObjs, r)
	}
	f := &fixture{
		tekton:   tektonfake.NewSimpleClientset(toObjects(tektonObjs)...),
		mlpipe:   mlpipefake.NewSimpleClientset(s),
		recorder: record.NewFakeRecorder(100),
		clock:    clocktesting.NewFakeClock(now),
		requeued: map[types.NamespacedName]time.Duration{},
		schedIdx: schedIdx,
		runIdx:   runIdx,
	}
	f.r = &Reconciler{
		MLPipe: f.mlpipe, Tekton: f.tekton,
		ScheduleLister: listers.NewPipelineScheduleLister(schedIdx), RunLister: pipelinelisters.NewPipelineRunLister(runIdx),
		RunIndexer: runIdx, StartedAt: now,
		Recorder: f.recorder, Clock: f.clock, StatusSyncPeriod: 5 * time.Minute,
		EnqueueAfter: func(k types.NamespacedName, d time.Duration) { f.requeued[k] = d },
	}
	if err := f.r.Promote(reconciler.UniversalBucket(), func(reconciler.Bucket, types.NamespacedName) {}); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) created() []string {
	var names []string
	for _, a := range f.tekton.Actions() {
		if a.GetVerb() == "create" && a.GetResource().Resource == "pipelineruns" {
			names = append(names, a.(interface{ GetObject() runtimeObject }).GetObject().(*pipelinev1.PipelineRun).Name)
		}
	}
	return names
}

func (f *fixture) verbs(verb string) []string {
	var names []string
	for _, a := range f.tekton.Actions() {
		if a.GetVerb() == verb && a.GetResource().Resource == "pipelineruns" {
			switch x := a.(type) {
			case interface{ GetName() string }:
				names = append(names, x.GetName())
			}
		}
	}
	sort.Strings(names)
	return names
}

// patches lists the PipelineRun patches sent, as "name type body", sorted.
func (f *fixture) patches() []string {
	var out []string
	for _, a := range f.tekton.Actions() {
		if p, ok := a.(k8stesting.PatchAction); ok && a.GetResource().Resource == "pipelineruns" {
			out = append(out, p.GetName()+" "+string(p.GetPatchType())+" "+string(p.GetPatch()))
		}
	}
	sort.Strings(out)
	return out
}

func (f *fixture) events() []string {
	var out []string
	for {
		select {
		case e := <-f.recorder.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

func (f *fixture) status(t *testing.T) *v1alpha1.PipelineScheduleStatus {
	t.Helper()
	s, err := f.mlpipe.MlpipeV1alpha1().PipelineSchedules("ml").Get(context.Background(), "nightly", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return &s.Status
}

func runName(slot time.Time) string { return resources.RunName("nightly", slot) }

func TestReconcileSlots(t *testing.T) {
	deadline := func(sec int64) func(*v1alpha1.PipelineSchedule) {
		return func(s *v1alpha1.PipelineSchedule) { s.Spec.StartingDeadlineSeconds = &sec }
	}
	policyOf := func(p v1alpha1.ConcurrencyPolicy) func(*v1alpha1.PipelineSchedule) {
		return func(s *v1alpha1.PipelineSchedule) { s.Spec.ConcurrencyPolicy = p }
	}
	tests := []struct {
		name        string
		sched       *v1alpha1.PipelineSchedule
		runs        func(*v1alpha1.PipelineSchedule) []*pipelinev1.PipelineRun
		now         time.Time
		wantCreated []string
		wantPatched []string
		wantEvent   string
	}{{
		name:        "first slot after creation starts one run named after the slot",
		sched:       schedule("*/5 * * * *"),
		now:         t0.Add(5*time.Minute + 2*time.Second),
		wantCreated: []string{runName(t0.Add(5 * time.Minute))},
	}, {
		name:  "nothing due before the first slot",
		sched: schedule("*/5 * * * *"),
		now:   t0.Add(4 * time.Minute),
	}, {
		name:  "the slot's run already exists and is ours: nothing more is created",
		sched: schedule("*/5 * * * *"),
		runs: func(s *v1alpha1.PipelineSchedule) []*pipelinev1.PipelineRun {
			return []*pipelinev1.PipelineRun{ownedRun(s, t0.Add(5*time.Minute), corev1.ConditionUnknown, time.Time{})}
		},
		now: t0.Add(5*time.Minute + 30*time.Second),
	}, {
		name:        "2 hours down without a deadline: only the latest slot, with a warning past 100 missed",
		sched:       schedule("* * * * *"),
		now:         t0.Add(2*time.Hour + 10*time.Second),
		wantCreated: []string{runName(t0.Add(2 * time.Hour))},
		wantEvent:   ReasonTooManyMissed,
	}, {
		name:        "2 hours down, latest slot within the deadline: one catch-up",
		sched:       schedule("0 * * * *", deadline(600)),
		now:         t0.Add(2*time.Hour + 5*time.Minute),
		wantCreated: []string{runName(t0.Add(2 * time.Hour))},
	}, {
		name:      "2 hours down, latest slot past the deadline: nothing, an event",
		sched:     schedule("0 * * * *", deadline(60)),
		now:       t0.Add(2*time.Hour + 5*time.Minute),
		wantEvent: ReasonMissedSchedule,
	}, {
		name:  "Forbid skips while a run of the pipeline is active, even one started by hand",
		sched: schedule("*/5 * * * *", policyOf(v1alpha1.ForbidConcurrent)),
		runs: func(*v1alpha1.PipelineSchedule) []*pipelinev1.PipelineRun {
			return []*pipelinev1.PipelineRun{manualRun("churn-manual")}
		},
		now:       t0.Add(5 * time.Minute),
		wantEvent: ReasonSkippedByPolicy,
	}, {
		name:  "Replace cancels the active run and starts the slot's",
		sched: schedule("*/5 * * * *", policyOf(v1alpha1.ReplaceConcurrent)),
		runs: func(*v1alpha1.PipelineSchedule) []*pipelinev1.PipelineRun {
			return []*pipelinev1.PipelineRun{manualRun("churn-manual")}
		},
		now:         t0.Add(5 * time.Minute),
		wantCreated: []string{runName(t0.Add(5 * time.Minute))},
		wantPatched: []string{`churn-manual application/merge-patch+json {"spec":{"status":"CancelledRunFinally"}}`},
		wantEvent:   ReasonReplaced,
	}, {
		name:  "Allow starts regardless",
		sched: schedule("*/5 * * * *", policyOf(v1alpha1.AllowConcurrent)),
		runs: func(*v1alpha1.PipelineSchedule) []*pipelinev1.PipelineRun {
			return []*pipelinev1.PipelineRun{manualRun("churn-manual")}
		},
		now:         t0.Add(5 * time.Minute),
		wantCreated: []string{runName(t0.Add(5 * time.Minute))},
	}, {
		name:  "suspended: no run",
		sched: schedule("*/5 * * * *", func(s *v1alpha1.PipelineSchedule) { s.Spec.Suspend = true }),
		now:   t0.Add(30 * time.Minute),
	}, {
		name: "an edit never fires by itself",
		sched: schedule("*/5 * * * *", func(s *v1alpha1.PipelineSchedule) {
			s.Generation = 2 // edited; the controller has seen generation 1
		}),
		now: t0.Add(30*time.Minute + 10*time.Second),
	}, {
		name:  "fall-back hour in Berlin: 02:30 fires once, not again an hour later",
		sched: schedule("30 2 * * *", func(s *v1alpha1.PipelineSchedule) { s.Spec.TimeZone = "Europe/Berlin" }),
		runs: func(s *v1alpha1.PipelineSchedule) []*pipelinev1.PipelineRun {
			return []*pipelinev1.PipelineRun{ownedRun(s, time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC), corev1.ConditionTrue, time.Date(2026, 10, 25, 0, 50, 0, 0, time.UTC))}
		},
		now: time.Date(2026, 10, 25, 1, 30, 30, 0, time.UTC), // 02:30 CET, the repeat
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var runs []*pipelinev1.PipelineRun
			if tt.runs != nil {
				runs = tt.runs(tt.sched)
			}
			if tt.sched.Spec.TimeZone == "Europe/Berlin" {
				tt.sched.CreationTimestamp = metav1.NewTime(time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC))
				tt.sched.Status.WindowStart = &metav1.Time{Time: tt.sched.CreationTimestamp.Time}
			}
			f := newFixture(t, tt.now, tt.sched, runs...)
			err := f.r.Reconcile(context.Background(), "ml/nightly")
			if err != nil {
				t.Fatalf("Reconcile: %v", err)
			}
			if diff := cmp.Diff(tt.wantCreated, f.created()); diff != "" {
				t.Errorf("created (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantPatched, f.patches()); diff != "" {
				t.Errorf("patched (-want +got):\n%s", diff)
			}
			events := strings.Join(f.events(), "\n")
			if tt.wantEvent != "" && !strings.Contains(events, tt.wantEvent) {
				t.Errorf("events = %q, want one with reason %s", events, tt.wantEvent)
			}
		})
	}
}

func TestReconcileCreatedRunCarriesSlot(t *testing.T) {
	s := schedule("*/5 * * * *")
	f := newFixture(t, t0.Add(5*time.Minute+time.Second), s)
	if err := f.r.Reconcile(context.Background(), "ml/nightly"); err != nil {
		t.Fatal(err)
	}
	run, err := f.tekton.TektonV1().PipelineRuns("ml").Get(context.Background(), runName(t0.Add(5*time.Minute)), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := run.Spec.Params[0].Value.StringVal; got != "2026-06-01T10:05:00Z" {
		t.Errorf("param as-of = %q, want the slot time", got)
	}
	if !metav1.IsControlledBy(run, s) || run.Labels[policy.PipelineLabel] != "churn" || run.Labels[resources.ScheduleLabel] != "nightly" {
		t.Errorf("run metadata = %+v", run.ObjectMeta)
	}
	st := f.status(t)
	if st.LastScheduleTime == nil || !st.LastScheduleTime.Time.Equal(t0.Add(5*time.Minute)) {
		t.Errorf("lastScheduleTime = %v", st.LastScheduleTime)
	}
	if st.NextScheduleTime == nil || !st.NextScheduleTime.Time.Equal(t0.Add(10*time.Minute)) {
		t.Errorf("nextScheduleTime = %v", st.NextScheduleTime)
	}
	if d := f.requeued[types.NamespacedName{Namespace: "ml", Name: "nightly"}]; d <= 0 || d > 5*time.Minute {
		t.Errorf("requeued after %v, want until the next slot", d)
	}
}

func TestReconcileNeverAdoptsForeignRun(t *testing.T) {
	s := schedule("*/5 * * * *")
	foreign := manualRun(runName(t0.Add(5 * time.Minute)))
	f := newFixture(t, t0.Add(5*time.Minute+time.Second), s, foreign)
	if err := f.r.Reconcile(context.Background(), "ml/nightly"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(f.events(), "\n"), ReasonNameConflict) {
		t.Error("no RunNameConflict event")
	}
	st := f.status(t)
	if c := st.GetCondition(v1alpha1.ConditionRunCreated); c == nil || c.Status != corev1.ConditionFalse || c.Reason != ReasonNameConflict {
		t.Errorf("RunCreated condition = %+v", c)
	}
	got, _ := f.tekton.TektonV1().PipelineRuns("ml").Get(context.Background(), foreign.Name, metav1.GetOptions{})
	if len(got.OwnerReferences) != 0 {
		t.Errorf("foreign run was adopted: %+v", got.OwnerReferences)
	}
	// The slot is consumed: the next reconcile does not try again.
	f2 := newFixture(t, t0.Add(6*time.Minute), func() *v1alpha1.PipelineSchedule { x := s.DeepCopy(); x.Status = *st; return x }(), foreign)
	if err := f2.r.Reconcile(context.Background(), "ml/nightly"); err != nil {
		t.Fatal(err)
	}
	if c := f2.created(); len(c) != 0 {
		t.Errorf("created %v after a conflict, want nothing", c)
	}
}

// TestReconcileInvalidSchedule: whatever Validate refuses (not only a bad cron expression) fires
// nothing, even at a due slot: ScheduleValid and Ready are False with the message naming the
// field, and one Warning Event says the same.
func TestReconcileInvalidSchedule(t *testing.T) {
	tests := []struct {
		name string
		now  time.Time
		s    *v1alpha1.PipelineSchedule
		want string
	}{{
		name: "bad cron expression",
		now:  t0.Add(time.Hour + time.Second),
		s:    schedule("61 * * * *"),
		want: `invalid value: invalid cron expression "61 * * * *": end of range (61) above maximum (59): 61: spec.schedule`,
	}, {
		name: "pipelineRef without a name",
		now:  t0.Add(time.Hour + time.Second),
		s: schedule("0 * * * *", func(s *v1alpha1.PipelineSchedule) {
			s.Spec.PipelineRunTemplate.PipelineRef = &pipelinev1.PipelineRef{}
		}),
		want: "missing field(s): spec.pipelineRunTemplate.pipelineRef.name",
	}, {
		name: "param using a task result",
		now:  t0.Add(time.Hour + time.Second),
		s: schedule("0 * * * *", func(s *v1alpha1.PipelineSchedule) {
			s.Spec.PipelineRunTemplate.Params = pipelinev1.Params{{Name: "a", Value: *pipelinev1.NewStructuredValues("$(tasks.train.results.model)")}}
		}),
		want: "invalid value: cannot use result expressions in [tasks.train.results.model] as PipelineRun parameter values: spec.pipelineRunTemplate.params[a].value",
	}, {
		// The reconciler's clock decides: from 2096-03-01 the next Feb 29 is in 2104.
		name: "Feb 29 seen from 2096",
		now:  time.Date(2096, 3, 1, 0, 0, 0, 0, time.UTC),
		s:    schedule("0 0 29 2 *"),
		want: `invalid value: schedule "0 0 29 2 *" never fires within 5 years: spec.schedule`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.now, tt.s)
			err := f.r.Reconcile(context.Background(), "ml/nightly")
			if err == nil {
				t.Fatal("Reconcile of an invalid schedule succeeded")
			}
			st := f.status(t)
			want := apis.Condition{Type: v1alpha1.ConditionScheduleValid, Status: corev1.ConditionFalse, Reason: ReasonInvalidSchedule, Message: tt.want}
			got := st.GetCondition(v1alpha1.ConditionScheduleValid)
			if got == nil {
				t.Fatal("no ScheduleValid condition")
			}
			if d := cmp.Diff(want, *got, cmpopts.IgnoreFields(apis.Condition{}, "LastTransitionTime", "Severity")); d != "" {
				t.Errorf("ScheduleValid (-want, +got):\n%s", d)
			}
			if ready := st.GetCondition(apis.ConditionReady); ready == nil || ready.Status != corev1.ConditionFalse || ready.Message != tt.want {
				t.Errorf("Ready = %+v, want False with %q", ready, tt.want)
			}
			if d := cmp.Diff([]string{"Warning InvalidSchedule " + tt.want}, f.events()); d != "" {
				t.Errorf("events (-want, +got):\n%s", d)
			}
			if c := f.created(); len(c) != 0 {
				t.Errorf("created %v for an invalid schedule, want nothing", c)
			}
			// A second reconcile of the still-invalid schedule repeats no Event.
			f.sync(t)
			if err := f.r.Reconcile(context.Background(), "ml/nightly"); err == nil {
				t.Fatal("second Reconcile of an invalid schedule succeeded")
			}
			if e := f.events(); len(e) != 0 {
				t.Errorf("second reconcile: events %v, want none", e)
			}
		})
	}
}

// TestReconcileValidOnTheReconcilersDate: the Feb 29 schedule that is invalid seen from 2096 is
// valid seen from 2026, and fires on the day.
func TestReconcileValidOnTheReconcilersDate(t *testing.T) {
	slot := time.Date(2028, 2, 29, 0, 0, 0, 0, time.UTC)
	s := schedule("0 0 29 2 *", func(s *v1alpha1.PipelineSchedule) { s.Spec.ConcurrencyPolicy = v1alpha1.AllowConcurrent })
	s.Status.WindowStart = &metav1.Time{Time: slot.Add(-time.Hour)}
	f := newFixture(t, slot.Add(time.Second), s)
	if err := f.r.Reconcile(context.Background(), "ml/nightly"); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{runName(slot)}, f.created()); d != "" {
		t.Errorf("created (-want, +got):\n%s", d)
	}
}

func TestPruneKeepsHistoryLimitsAndNewest(t *testing.T) {
	s := schedule("0 * * * *", func(s *v1alpha1.PipelineSchedule) {
		ok, failed := int32(2), int32(0)
		s.Spec.SuccessfulRunsHistoryLimit, s.Spec.FailedRunsHistoryLimit = &ok, &failed
	})
	var runs []*pipelinev1.PipelineRun
	for i := 1; i <= 4; i++ {
		slot := t0.Add(time.Duration(i) * time.Hour)
		runs = append(runs, ownedRun(s, slot, corev1.ConditionTrue, slot.Add(10*time.Minute)))
	}
	failedSlot := t0.Add(5 * time.Hour)
	runs = append(runs, ownedRun(s, failedSlot, corev1.ConditionFalse, failedSlot.Add(time.Minute)))
	runs = append(runs, manualRun("churn-manual-done"))
	f := newFixture(t, failedSlot.Add(30*time.Minute), s, runs...)
	if err := f.r.Reconcile(context.Background(), "ml/nightly"); err != nil {
		t.Fatal(err)
	}
	// Succeeded beyond 2: the two oldest go. The failed run is over its limit of 0, but it
	// holds the newest slot, so it stays. Runs of other owners are never touched.
	want := []string{runName(t0.Add(time.Hour)), runName(t0.Add(2 * time.Hour))}
	if diff := cmp.Diff(want, f.verbs("delete")); diff != "" {
		t.Errorf("deleted (-want +got):\n%s", diff)
	}
}

func TestStatusWritesAreCoalesced(t *testing.T) {
	s := schedule("* * * * *", func(s *v1alpha1.PipelineSchedule) { s.Spec.ConcurrencyPolicy = v1alpha1.AllowConcurrent })
	f := newFixture(t, t0.Add(time.Minute+time.Second), s)
	ctx := context.Background()
	if err := f.r.Reconcile(ctx, "ml/nightly"); err != nil {
		t.Fatal(err)
	}
	writes := func() int {
		n := 0
		for _, a := range f.mlpipe.Actions() {
			if a.GetVerb() == "update" && a.GetSubresource() == "status" {
				n++
			}
		}
		return n
	}
	if writes() != 1 {
		t.Fatalf("first reconcile wrote status %d times, want 1", writes())
	}
	// Two more slots within the sync period: one create each, no status write.
	for i := 2; i <= 3; i++ {
		f.sync(t)
		f.clock.SetTime(t0.Add(time.Duration(i)*time.Minute + time.Second))
		if err := f.r.Reconcile(ctx, "ml/nightly"); err != nil {
			t.Fatal(err)
		}
	}
	if got := len(f.created()); got != 3 {
		t.Errorf("created %d runs over 3 slots, want 3", got)
	}
	if writes() != 1 {
		t.Errorf("status written %d times over 3 slots within the sync period, want 1", writes())
	}
}

// TestEagerStatusWhileQuiet: with an eager-status budget, a lone schedule's status shows each slot at once;
// once the budget is spent, writes fall back to the sync period.
func TestEagerStatusWhileQuiet(t *testing.T) {
	s := schedule("* * * * *", func(s *v1alpha1.PipelineSchedule) { s.Spec.ConcurrencyPolicy = v1alpha1.AllowConcurrent })
	f := newFixture(t, t0.Add(time.Minute+time.Second), s)
	f.r.EagerStatus = rate.NewLimiter(rate.Every(time.Hour), 2) // two eager writes, then coalesced
	ctx := context.Background()
	writes := func() int {
		n := 0
		for _, a := range f.mlpipe.Actions() {
			if a.GetVerb() == "update" && a.GetSubresource() == "status" {
				n++
			}
		}
		return n
	}
	if err := f.r.Reconcile(ctx, "ml/nightly"); err != nil {
		t.Fatal(err)
	}
	for i := 2; i <= 4; i++ {
		f.sync(t)
		f.clock.SetTime(t0.Add(time.Duration(i)*time.Minute + time.Second))
		if err := f.r.Reconcile(ctx, "ml/nightly"); err != nil {
			t.Fatal(err)
		}
		want := min(i, 3) // the first write, then two eager ones
		if writes() != want {
			t.Errorf("after slot %d: %d status writes, want %d", i, writes(), want)
		}
		if i <= 3 {
			if got := f.status(t).LastScheduleTime; got == nil || !got.Time.Equal(t0.Add(time.Duration(i)*time.Minute)) {
				t.Errorf("after slot %d: lastScheduleTime %v, want the slot at once", i, got)
			}
		}
	}
}

func TestBacklogIsWorkedOffNotDropped(t *testing.T) {
	// The controller has run since t0, but its client was throttled: three slots came due
	// before this schedule's turn. They start oldest first, one per reconcile.
	s := schedule("* * * * *", func(s *v1alpha1.PipelineSchedule) { s.Spec.ConcurrencyPolicy = v1alpha1.AllowConcurrent })
	f := newFixture(t, t0.Add(3*time.Minute+30*time.Second), s)
	f.r.StartedAt = t0
	for i := 0; i < 4; i++ {
		if err := f.r.Reconcile(context.Background(), "ml/nightly"); err != nil {
			t.Fatal(err)
		}
		f.sync(t)
	}
	want := []string{runName(t0.Add(time.Minute)), runName(t0.Add(2 * time.Minute)), runName(t0.Add(3 * time.Minute))}
	if diff := cmp.Diff(want, f.created()); diff != "" {
		t.Errorf("created (-want +got):\n%s", diff)
	}
}
