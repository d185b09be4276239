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

// Package pipelineschedule is the reconciler that starts a PipelineRun on every slot of a
// PipelineSchedule, exactly once per slot.
package pipelineschedule

import (
	"context"
	"fmt"
	"golang.org/x/time/rate"
	"sort"
	"sync"
	"time"

	"github.com/mlpipe/mlpipe/pkg/apis/mlpipe/v1alpha1"
	mlpipeclient "github.com/mlpipe/mlpipe/pkg/client/clientset/versioned"
	listers "github.com/mlpipe/mlpipe/pkg/client/listers/mlpipe/v1alpha1"
	"github.com/mlpipe/mlpipe/pkg/cron"
	"github.com/mlpipe/mlpipe/pkg/policy"
	"github.com/mlpipe/mlpipe/pkg/reconciler/pipelineschedule/resources"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	pipelineclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	pipelinelisters "github.com/tektoncd/pipeline/pkg/client/listers/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/clock"
	duckv1 "knative.dev/pkg/apis/duck/v1"
	"knative.dev/pkg/controller"
	"knative.dev/pkg/logging"
	"knative.dev/pkg/reconciler"
)

// MaxMissedSlots is how many missed slots are counted before a warning: past it the
// controller warns (as the CronJob controller does) and still starts only the latest.
const MaxMissedSlots = 100

// MaxActiveInStatus bounds status.active (the newest runs by name, which sort by slot).
const MaxActiveInStatus = 20

// Event reasons.
const (
	ReasonInvalidSchedule = "InvalidSchedule"
	ReasonMissedSchedule  = "MissedSchedule"
	ReasonTooManyMissed   = "TooManyMissedSlots"
	ReasonSkippedByPolicy = "SkippedByConcurrencyPolicy"
	ReasonReplaced        = "ReplacedActiveRun"
	ReasonNameConflict    = "RunNameConflict"
	ReasonPruneFailed     = "PruneFailed"
)

// Reconciler starts the runs of PipelineSchedules.
type Reconciler struct {
	reconciler.LeaderAwareFuncs

	MLPipe         mlpipeclient.Interface
	Tekton         pipelineclient.Interface
	ScheduleLister listers.PipelineScheduleLister
	// RunLister reads PipelineRuns that carry tekton.dev/pipeline: ours and everyone
	// else's runs of the same Pipelines (the concurrency policy spans them).
	RunLister pipelinelisters.PipelineRunLister
	// RunIndexer is the same cache, indexed by ScheduleIndex and PipelineIndex (see
	// RunIndexers), so a reconcile reads only the runs it needs.
	RunIndexer cache.Indexer
	// StartedAt is when this controller started: slots after it are a backlog to work
	// off, slots before it were missed while the controller was down.
	StartedAt time.Time
	Recorder  record.EventRecorder
	Clock     clock.PassiveClock
	// EnqueueAfter requeues a schedule for its next slot.
	EnqueueAfter func(key types.NamespacedName, d time.Duration)
	// StatusSyncPeriod bounds how stale the status fields that change every slot
	// (lastScheduleTime, nextScheduleTime, active) may get: they are written at most
	// this often, so a slot costs one API request (the create). Conditions, the
	// observed generation and the window are written at once.
	StatusSyncPeriod time.Duration
	// EagerStatus, when set, is a budget of per-slot status writes made at once rather than
	// coalesced: a lone schedule shows its last and next slot right away, while a burst of
	// slots (thousands firing in one minute) spends the budget in its first seconds and the
	// rest falls back to StatusSyncPeriod, keeping a slot at about one request.
	EagerStatus *rate.Limiter
	Metrics     *Metrics

	mu        sync.Mutex
	lastWrite map[types.NamespacedName]time.Time
}

// Check that our Reconciler implements controller.Reconciler and is leader aware.
var (
	_ controller.Reconciler  = (*Reconciler)(nil)
	_ reconciler.LeaderAware = (*Reconciler)(nil)
)

// Reconcile implements controller.Reconciler.
func (r *Reconciler) Reconcile(ctx context.Context, key string) error {
	logger := logging.FromContext(ctx)
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		logger.Errorf("invalid resource key %q: %v", key, err)
		return nil
	}
	nn := types.NamespacedName{Namespace: ns, Name: name}
	if !r.IsLeaderFor(nn) {
		return nil
	}
	original, err := r.ScheduleLister.PipelineSchedules(ns).Get(name)
	if apierrors.IsNotFound(err) {
		logger.Debugf("PipelineSchedule %s is gone", key)
		r.forget(nn)
		return nil
	}
	if err != nil {
		return err
	}
	s := original.DeepCopy()
	next, rerr := r.ReconcileKind(ctx, s)
	if err := r.writeStatus(ctx, original, s); err != nil {
		return err
	}
	if !next.IsZero() && r.EnqueueAfter != nil {
		r.EnqueueAfter(nn, next.Sub(r.Clock.Now()))
	}
	return rerr
}

// ReconcileKind starts the run of the latest due slot of s, if any, updates s.Status in
// memory and returns the next slot (zero when suspended or invalid).
func (r *Reconciler) ReconcileKind(ctx context.Context, s *v1alpha1.PipelineSchedule) (time.Time, error) {
	s.SetDefaults(ctx)
	s.Status.InitializeConditions()
	now := r.Clock.Now()
	// The webhook's check again, so that a cluster without the webhook (or an object applied
	// before it was registered) fires nothing for an invalid spec: one rule, Validate.
	if ferr := s.Validate(v1alpha1.WithClock(ctx, r.Clock)); ferr != nil {
		return time.Time{}, r.invalid(s, ferr)
	}
	sched, err := cron.Parse(s.Spec.AllSchedules(), s.Spec.TimeZone, now)
	if err != nil {
		return time.Time{}, r.invalid(s, err)
	}
	s.Status.MarkScheduleValid()

	owned := r.ownedRuns(s)
	r.observeRuns(s, owned)

	// An edit (or a resume, which is an edit) never fires a run by itself: slots up to
	// now are out of the window. A new schedule counts slots from its creation.
	if s.Status.ObservedGeneration != s.Generation {
		start := now
		if s.Generation <= 1 && s.Status.WindowStart == nil {
			start = s.CreationTimestamp.Time
		}
		s.Status.WindowStart = &metav1.Time{Time: start}
		s.Status.ObservedGeneration = s.Generation
	}
	if s.Spec.Suspend {
		s.Status.WindowStart = &metav1.Time{Time: now}
		s.Status.NextScheduleTime = nil
		return time.Time{}, nil
	}
	next := sched.Next(now)
	s.Status.NextScheduleTime = &metav1.Time{Time: next}

	baseline := s.Status.WindowStart.Time
	if last := s.Status.LastScheduleTime; last != nil && last.After(baseline) {
		baseline = last.Time
	}
	missed, slot := sched.Missed(baseline, now, MaxMissedSlots)
	if missed == 0 {
		return next, r.prune(ctx, s, owned)
	}
	// Slots that came due while this controller was running are a backlog (the client's
	// rate limit, a slow API server): they are started oldest first, late but never
	// dropped. Slots that came due while it was down are caught up at most once: the latest.
	if backlog := r.backlogSlot(sched, baseline, now); !backlog.IsZero() {
		if backlog.Before(slot) {
			slot = backlog
			if r.EnqueueAfter != nil {
				r.EnqueueAfter(types.NamespacedName{Namespace: s.Namespace, Name: s.Name}, 0)
			}
		}
	} else {
		if missed > MaxMissedSlots && s.Spec.StartingDeadlineSeconds == nil {
			r.Recorder.Eventf(s, corev1.EventTypeWarning, ReasonTooManyMissed,
				"more than %d slots missed since %s: starting only the latest (%s); set spec.startingDeadlineSeconds to bound catch-up",
				MaxMissedSlots, baseline.UTC().Format(time.RFC3339), slot.UTC().Format(time.RFC3339))
		}
		if missed > 1 {
			r.Metrics.missed(ctx, s, int64(missed-1))
		}
	}
	if d := s.Spec.StartingDeadlineSeconds; d != nil && now.Sub(slot) > time.Duration(*d)*time.Second {
		r.Recorder.Eventf(s, corev1.EventTypeWarning, ReasonMissedSchedule,
			"slot %s missed: %s late, past startingDeadlineSeconds %d", slot.UTC().Format(time.RFC3339), now.Sub(slot).Round(time.Second), *d)
		r.Metrics.missed(ctx, s, 1)
		s.Status.WindowStart = &metav1.Time{Time: slot}
		return next, r.prune(ctx, s, owned)
	}

	run := resources.MakePipelineRun(s, slot)
	pipeline := ""
	if ref := s.Spec.PipelineRunTemplate.PipelineRef; ref != nil {
		pipeline = ref.Name
	}
	decision := policy.Decision{Action: policy.Start}
	if p := policy.Policy(s.Spec.ConcurrencyPolicy); p != policy.Allow {
		decision = policy.Decide(p, policy.Active(r.pipelineRuns(s.Namespace, pipeline)), run.Name)
	}
	switch decision.Action {
	case policy.Skip:
		r.Recorder.Eventf(s, corev1.EventTypeNormal, ReasonSkippedByPolicy, "slot %s skipped: %s", slot.UTC().Format(time.RFC3339), decision.Reason)
		r.Metrics.skipped(ctx, s)
		s.Status.WindowStart = &metav1.Time{Time: slot}
		return next, r.prune(ctx, s, owned)
	case policy.CancelThenStart:
		if err := policy.Cancel(ctx, r.Tekton, decision.Cancel); err != nil {
			return next, fmt.Errorf("concurrencyPolicy Replace: %w", err)
		}
		r.Recorder.Eventf(s, corev1.EventTypeNormal, ReasonReplaced, "slot %s: %s", slot.UTC().Format(time.RFC3339), decision.Reason)
	}

	if err := r.create(ctx, s, run); err != nil {
		return next, err
	}
	// Skew is measured after the create returns: it includes the client's rate-limit wait.
	r.Metrics.created(ctx, s, r.Clock.Now().Sub(slot))
	s.Status.LastScheduleTime = &metav1.Time{Time: slot}
	return next, r.prune(ctx, s, owned)
}

// invalid records that s cannot fire: ScheduleValid (and so Ready) False with the error,
// which names the fields, and a Warning Event when the schedule was not already invalid.
// The returned error is permanent: only an edit can fix the spec.
func (r *Reconciler) invalid(s *v1alpha1.PipelineSchedule, err error) error {
	if c := s.Status.GetCondition(v1alpha1.ConditionScheduleValid); c == nil || !c.IsFalse() || c.Message != err.Error() {
		r.Recorder.Eventf(s, corev1.EventTypeWarning, ReasonInvalidSchedule, "%v", err)
	}
	s.Status.MarkScheduleInvalid(ReasonInvalidSchedule, "%v", err)
	s.Status.NextScheduleTime = nil
	s.Status.ObservedGeneration = s.Generation
	return controller.NewPermanentError(err)
}

// create creates the slot's run. A run of that name that we own is the same slot started
// before (a restart, a second replica): success. One we do not own is never adopted.
func (r *Reconciler) create(ctx context.Context, s *v1alpha1.PipelineSchedule, run *pipelinev1.PipelineRun) error {
	_, err := r.Tekton.TektonV1().PipelineRuns(run.Namespace).Create(ctx, run, metav1.CreateOptions{})
	if err == nil {
		s.Status.MarkRunCreated()
		return nil
	}
	if !apierrors.IsAlreadyExists(err) {
		s.Status.MarkRunNotCreated("CreateFailed", "creating PipelineRun %s: %v", run.Name, err)
		return fmt.Errorf("error creating PipelineRun %s: %w", run.Name, err)
	}
	existing, gerr := r.RunLister.PipelineRuns(run.Namespace).Get(run.Name)
	if apierrors.IsNotFound(gerr) {
		existing, gerr = r.Tekton.TektonV1().PipelineRuns(run.Namespace).Get(ctx, run.Name, metav1.GetOptions{})
	}
	if gerr != nil {
		return fmt.Errorf("error reading existing PipelineRun %s: %w", run.Name, gerr)
	}
	if metav1.IsControlledBy(existing, s) {
		s.Status.MarkRunCreated()
		return nil
	}
	r.Recorder.Eventf(s, corev1.EventTypeWarning, ReasonNameConflict,
		"PipelineRun %s already exists and is not owned by this schedule: slot %s not started", run.Name, run.Annotations[resources.ScheduledTimeAnnotation])
	s.Status.MarkRunNotCreated(ReasonNameConflict, "PipelineRun %s exists and belongs to someone else; it was not adopted", run.Name)
	// The slot is consumed: retrying would meet the same conflict.
	slot, _ := resources.ScheduledTime(run)
	s.Status.WindowStart = &metav1.Time{Time: slot}
	return nil
}

// ownedRuns returns the runs this schedule started, from the informer's schedule index.
func (r *Reconciler) ownedRuns(s *v1alpha1.PipelineSchedule) []*pipelinev1.PipelineRun {
	var owned []*pipelinev1.PipelineRun
	for _, run := range r.byIndex(ScheduleIndex, s.Namespace+"/"+s.Name) {
		if metav1.IsControlledBy(run, s) {
			owned = append(owned, run)
		}
	}
	return owned
}

// pipelineRuns returns every run of a Pipeline in a namespace (scheduled, triggered or
// started by hand), from the informer's pipeline index.
func (r *Reconciler) pipelineRuns(ns, pipeline string) []*pipelinev1.PipelineRun {
	return r.byIndex(PipelineIndex, ns+"/"+pipeline)
}

func (r *Reconciler) byIndex(index, key string) []*pipelinev1.PipelineRun {
	objs, err := r.RunIndexer.ByIndex(index, key)
	if err != nil {
		return nil
	}
	out := make([]*pipelinev1.PipelineRun, 0, len(objs))
	for _, o := range objs {
		if run, ok := o.(*pipelinev1.PipelineRun); ok {
			out = append(out, run)
		}
	}
	return out
}

// backlogSlot returns the oldest slot after baseline that came due while this controller
// was running (after StartedAt) and is due by now, or zero.
func (r *Reconciler) backlogSlot(sched *cron.Schedule, baseline, now time.Time) time.Time {
	from := baseline
	if r.StartedAt.After(from) {
		from = r.StartedAt
	}
	if first := sched.Next(from); !first.IsZero() && !first.After(now) {
		return first
	}
	return time.Time{}
}

// observeRuns derives lastScheduleTime, lastSuccessfulTime and active from the owned runs:
// the runs are the record, so a lost status write loses nothing.
func (r *Reconciler) observeRuns(s *v1alpha1.PipelineSchedule, owned []*pipelinev1.PipelineRun) {
	var active []corev1.ObjectReference
	for _, run := range owned {
		if slot, ok := resources.ScheduledTime(run); ok {
			if s.Status.LastScheduleTime == nil || slot.After(s.Status.LastScheduleTime.Time) {
				s.Status.LastScheduleTime = &metav1.Time{Time: slot}
			}
		}
		if !run.IsDone() {
			active = append(active, corev1.ObjectReference{
				APIVersion: pipelinev1.SchemeGroupVersion.String(), Kind: "PipelineRun",
				Namespace: run.Namespace, Name: run.Name, UID: run.UID,
			})
			continue
		}
		if run.Status.GetCondition("Succeeded").IsTrue() && run.Status.CompletionTime != nil {
			if s.Status.LastSuccessfulTime == nil || run.Status.CompletionTime.After(s.Status.LastSuccessfulTime.Time) {
				s.Status.LastSuccessfulTime = run.Status.CompletionTime.DeepCopy()
			}
		}
	}
	sort.Slice(active, func(i, j int) bool { return active[i].Name < active[j].Name })
	if len(active) > MaxActiveInStatus {
		active = active[len(active)-MaxActiveInStatus:]
	}
	s.Status.Active = active
}

// prune deletes the oldest finished runs we own beyond the history limits; running
// runs, runs of other owners and the run of the newest slot (the record that the slot
// was started, whatever the status says) are never touched.
func (r *Reconciler) prune(ctx context.Context, s *v1alpha1.PipelineSchedule, owned []*pipelinev1.PipelineRun) error {
	var newest *pipelinev1.PipelineRun
	var newestSlot time.Time
	for _, run := range owned {
		if slot, ok := resources.ScheduledTime(run); ok && slot.After(newestSlot) {
			newest, newestSlot = run, slot
		}
	}
	var succeeded, failed []*pipelinev1.PipelineRun
	for _, run := range owned {
		switch {
		case run == newest || !run.IsDone():
		case run.Status.GetCondition("Succeeded").IsTrue():
			succeeded = append(succeeded, run)
		default:
			failed = append(failed, run)
		}
	}
	for _, group := range []struct {
		runs  []*pipelinev1.PipelineRun
		limit int32
	}{{succeeded, *s.Spec.SuccessfulRunsHistoryLimit}, {failed, *s.Spec.FailedRunsHistoryLimit}} {
		if int32(len(group.runs)) <= group.limit {
			continue
		}
		sort.Slice(group.runs, func(i, j int) bool { return finished(group.runs[i]).Before(finished(group.runs[j])) })
		for _, run := range group.runs[:int32(len(group.runs))-group.limit] {
			err := r.Tekton.TektonV1().PipelineRuns(run.Namespace).Delete(ctx, run.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &run.UID}})
			if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
				r.Recorder.Eventf(s, corev1.EventTypeWarning, ReasonPruneFailed, "deleting PipelineRun %s: %v", run.Name, err)
				return fmt.Errorf("error pruning PipelineRun %s: %w", run.Name, err)
			}
		}
	}
	return nil
}

func finished(run *pipelinev1.PipelineRun) time.Time {
	if run.Status.CompletionTime != nil {
		return run.Status.CompletionTime.Time
	}
	return run.CreationTimestamp.Time
}

// writeStatus writes s.Status when it changed in a way users must see now (conditions,
// generation, window), or when the per-slot fields changed and the last write is older
// than StatusSyncPeriod.
func (r *Reconciler) writeStatus(ctx context.Context, original, s *v1alpha1.PipelineSchedule) error {
	if equality.Semantic.DeepEqual(original.Status, s.Status) {
		return nil
	}
	nn := types.NamespacedName{Namespace: s.Namespace, Name: s.Name}
	// The window and the generation of a new schedule are derived from its creation, and a
	// condition going from Unknown to True tells nobody anything: neither costs a request.
	newSchedule := original.Status.ObservedGeneration == 0 && s.Generation <= 1
	urgent := conditionsWorsenedOrRecovered(original.Status.Status, s.Status.Status) ||
		!newSchedule && (original.Status.ObservedGeneration != s.Status.ObservedGeneration ||
			!equality.Semantic.DeepEqual(original.Status.WindowStart, s.Status.WindowStart)) ||
		newSchedule && original.Status.WindowStart == nil && s.Status.WindowStart != nil && !s.Status.WindowStart.Time.Equal(s.CreationTimestamp.Time)
	now := r.Clock.Now()
	r.mu.Lock()
	last, seen := r.lastWrite[nn]
	r.mu.Unlock()
	if !urgent && seen && now.Sub(last) < r.StatusSyncPeriod && (r.EagerStatus == nil || !r.EagerStatus.AllowN(now, 1)) {
		if r.EnqueueAfter != nil {
			r.EnqueueAfter(nn, r.StatusSyncPeriod-now.Sub(last))
		}
		return nil
	}
	// Another replica (leader election off) may have written in between: retry on the
	// latest object; the status is derived from the runs, so ours is as good as theirs.
	client := r.MLPipe.MlpipeV1alpha1().PipelineSchedules(s.Namespace)
	latest := original.DeepCopy()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		latest.Status = s.Status
		_, err := client.UpdateStatus(ctx, latest, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) {
			fresh, gerr := client.Get(ctx, s.Name, metav1.GetOptions{})
			if gerr != nil {
				return gerr
			}
			latest = fresh
		}
		return err
	})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("error updating status of PipelineSchedule %s: %w", nn, err)
	}
	r.mu.Lock()
	if r.lastWrite == nil {
		r.lastWrite = map[types.NamespacedName]time.Time{}
	}
	r.lastWrite[nn] = now
	r.mu.Unlock()
	return nil
}

func (r *Reconciler) forget(nn types.NamespacedName) {
	r.mu.Lock()
	delete(r.lastWrite, nn)
	r.mu.Unlock()
}

// conditionsWorsenedOrRecovered reports a condition that became False, or stopped being False.
func conditionsWorsenedOrRecovered(before, after duckv1.Status) bool {
	for _, c := range after.Conditions {
		old := before.GetCondition(c.Type)
		wasFalse := old != nil && old.IsFalse()
		if c.IsFalse() != wasFalse || c.IsFalse() && (old.Reason != c.Reason || old.Message != c.Message) {
			return true
		}
	}
	return false
}
