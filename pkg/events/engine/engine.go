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

// Package engine is the one path from an S3 or MinIO bucket notification to the runs it starts, shared by the
// Triggers interceptor (pkg/interceptor) and the direct receiver (pkg/receiver): authenticate (credentials read
// per request, so a rotated Secret takes effect without a restart) → decode (pkg/events) → filter → name →
// reduce the notification's objects → coalesce (quiet window) → concurrency policy (pkg/policy) → cancel
// (Replace). The surfaces only translate: the interceptor answers with the one object to start as Triggers
// extensions, the receiver creates the runs. For the same notification and the same target both get the same
// Result or the same *Error.
//
// Several matching objects in one notification (S3 and MinIO send one record per notification; a relay may
// send more):
//   - objects with the same run name (the same object version twice) start once;
//   - under Allow with no quiet window, every distinct object starts, each exactly once (its own run name);
//   - with a quiet window, or under Forbid or Replace, they are one burst: only the last matching object goes
//     on (the others are reported superseded), as if they had arrived one after the other;
//   - a surface that can start only one run per notification (the interceptor: one Triggers response creates
//     one PipelineRun) sets Target.MaxStarts to 1; a notification that would start more is refused whole with
//     KindInvalid before anything is cancelled or started, naming the objects, so no object is dropped
//     silently (send one record per notification, set a quiet window, or use the direct receiver).
//
// Forbid and Replace under bursts: the decisions for one namespace/pipeline are taken one at a time, over the
// informer's cache plus the runs this Engine admitted (told a surface to start) that the cache does not show yet
// — the "expectations" of Kubernetes' controllers. An admitted run stops counting on its own when the cache
// shows it (the cache judges it from then on), when the surface calls Abandon (the receiver, when the API server
// refused the create), or after AdmissionTTL. So within one process a burst of concurrent notifications for
// distinct objects under Forbid starts exactly one run; each other one gets a Verdict with Start false and
// Skipped "concurrencyPolicy Forbid: 1 run(s) still active ([run]); started by this process and not yet in its
// cache: run" (or without the second part once the cache shows the run). Forbid skips: a skipped object is not
// started later. Across processes (several replicas of cmd/mlpipe-webhooks, or another starter such as the
// schedule controller or tkn) each sees the others' runs only through its cache, so two starts inside that
// cache's lag can both go on; see README.
package engine

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mlpipe/mlpipe/pkg/events"
	"github.com/mlpipe/mlpipe/pkg/policy"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	versioned "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	listers "github.com/tektoncd/pipeline/pkg/client/listers/pipeline/v1"
	"go.uber.org/zap"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/clock"
)

// MaxQuietWindow bounds the quiet window on every surface. A request is answered only after its window, and
// the smallest deadline a surface has is Triggers' interceptor server's 3 s per request (the direct receiver's
// server writes for up to 30 s, MinIO's webhook client waits longer): a longer window would never be answered
// and the sender would redeliver forever. Target.Validate refuses longer windows.
const MaxQuietWindow = 2500 * time.Millisecond

// Credentials returns the credentials a notification must carry. Surfaces call it for every request, so a
// rotated Secret (or a remounted Secret file) applies to the next notification without a restart.
type Credentials interface {
	Auth(ctx context.Context) (*events.Auth, error)
}

// StaticAuth is fixed credentials (tests, or a caller that reloads them itself).
type StaticAuth events.Auth

// Auth implements Credentials.
func (s *StaticAuth) Auth(context.Context) (*events.Auth, error) { return (*events.Auth)(s), nil }

// Target is what a notification may start: one Trigger of the interceptor, one route of the receiver.
type Target struct {
	// Namespace and Pipeline name the Pipeline; runs are named after Pipeline and the policy counts its runs.
	Namespace, Pipeline string
	// Filter selects the objects that start a run.
	Filter events.Filter
	// Policy is the concurrency policy (empty: Allow).
	Policy policy.Policy
	// QuietWindow, when positive, coalesces bursts: an object goes on only when no newer matching object for
	// the same namespace/pipeline arrives within it (on any surface of this Engine). At most MaxQuietWindow.
	QuietWindow time.Duration
	// Credentials authenticate requests (required).
	Credentials Credentials
	// MaxStarts, when positive, is the most runs one notification may start (see the package comment).
	MaxStarts int
}

// Validate reports a target that cannot work; the messages name the field.
func (t *Target) Validate() error {
	var errs []error
	if t.Namespace == "" {
		errs = append(errs, errors.New("namespace is required"))
	}
	if t.Pipeline == "" {
		errs = append(errs, errors.New("pipeline is required"))
	}
	if _, err := policy.Parse(string(t.Policy)); err != nil {
		errs = append(errs, fmt.Errorf("concurrencyPolicy: %w", err))
	}
	if err := ValidateQuietWindow(t.QuietWindow); err != nil {
		errs = append(errs, err)
	}
	if err := t.Filter.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("filter: %w", err))
	}
	if t.Credentials == nil {
		errs = append(errs, errors.New("credentials are required: unauthenticated notifications are refused"))
	}
	return errors.Join(errs...)
}

// ParseQuietWindow parses a quietWindow setting (a Go duration, empty: none) and checks its bounds.
func ParseQuietWindow(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("quietWindow %q: want a Go duration between 0 and %s", s, MaxQuietWindow)
	}
	return d, ValidateQuietWindow(d)
}

// ValidateQuietWindow checks that d is between 0 and MaxQuietWindow.
func ValidateQuietWindow(d time.Duration) error {
	if d < 0 || d > MaxQuietWindow {
		return fmt.Errorf("quietWindow %s: want a duration between 0 and %s (a notification is answered only after its window, and the interceptor has 3 s to answer)", d, MaxQuietWindow)
	}
	return nil
}

// Kind says what kind of failure an *Error is; each surface maps it to its own code.
type Kind int

const (
	// KindInvalid is a notification that is wrong as sent (HTTP 400, codes.InvalidArgument): do not retry it.
	KindInvalid Kind = iota
	// KindUnauthenticated is a request without valid credentials (HTTP 401, codes.Unauthenticated).
	KindUnauthenticated
	// KindUnavailable is a failure that a redelivery may not meet (HTTP 503, codes.Unavailable): the secret
	// cannot be read, the runs cannot be listed or cancelled, the quiet window did not end before the request.
	KindUnavailable
)

// String implements fmt.Stringer.
func (k Kind) String() string {
	return [...]string{"Invalid", "Unauthenticated", "Unavailable"}[k]
}

// Error is a notification the engine refuses.
type Error struct {
	Kind Kind
	Msg  string
}

// Error implements error.
func (e *Error) Error() string { return e.Msg }

func fail(k Kind, format string, args ...any) error {
	return &Error{Kind: k, Msg: fmt.Sprintf(format, args...)}
}

// Verdict is the engine's answer for one object of a notification, in the notification's order.
type Verdict struct {
	// Object is the object a run is for: the notification's object or, for a marker, its directory.
	Object events.Object
	// Run is the PipelineRun's name; empty when the object does not match the filter.
	Run string
	// Start is true when the surface must start (create, or hand on) the run. A run of that name that already
	// exists is the same start delivered twice.
	Start bool
	// Skipped says why not, when Start is false.
	Skipped string
}

// Result is the engine's answer for a notification.
type Result struct {
	// Test is true for s3:TestEvent and SNS (un)subscription confirmations: acknowledge, start nothing.
	Test bool
	// SubscribeURL and TopicArn describe an SNS subscription confirmation.
	SubscribeURL, TopicArn string
	// Verdicts has one entry per object of the notification.
	Verdicts []Verdict
}

// Starts returns the verdicts that start a run.
func (r *Result) Starts() []Verdict {
	var out []Verdict
	for _, v := range r.Verdicts {
		if v.Start {
			out = append(out, v)
		}
	}
	return out
}

// Engine runs notifications through the chain. One Engine serves every surface of a process, so that they share
// one coalescer.
type Engine struct {
	// Runs lists PipelineRuns from an informer's cache for the Forbid and Replace policies (no API call per
	// notification); the runs this Engine admitted are added until the cache shows them (see the package comment).
	Runs listers.PipelineRunLister
	// Tekton cancels runs for Replace (and creates runs on the receiver).
	Tekton versioned.Interface
	// Clock times the quiet windows (nil: the real clock).
	Clock clock.Clock
	// Logger logs decisions (nil: none).
	Logger *zap.SugaredLogger
	// AdmissionTTL bounds how long a run that Handle admitted under Forbid or Replace counts as active while the
	// cache does not show it (0: DefaultAdmissionTTL). It matters only when the run is never created without
	// the surface calling Abandon: the interceptor's run is created by Triggers, which does not report back.
	AdmissionTTL time.Duration

	mu     sync.Mutex
	groups map[string]*waiter
	slots  map[string]*slot
}

// Handle runs one notification (headers h, raw body) through the chain for t. A nil error means the
// notification is handled: acknowledge it, after starting Result.Starts(). An *Error says why not.
func (e *Engine) Handle(ctx context.Context, t *Target, h http.Header, body []byte) (*Result, error) {
	if t.Credentials == nil {
		return nil, fail(KindUnauthenticated, "no credentials are configured, so every request is refused")
	}
	auth, err := t.Credentials.Auth(ctx)
	if err != nil {
		return nil, fail(KindUnavailable, "error reading the notification credentials: %v", err)
	}
	if err := auth.Check(h, body); err != nil {
		return nil, fail(KindUnauthenticated, "%v", err)
	}
	n, err := events.Decode(body)
	if err != nil {
		return nil, fail(KindInvalid, "%v", err)
	}
	if n.Test {
		if n.SubscribeURL != "" {
			e.logger().Warnw("SNS subscription awaits confirmation: visit its SubscribeURL", "pipeline", t.Pipeline, "topic", n.TopicArn, "subscribeURL", n.SubscribeURL)
		}
		return &Result{Test: true, SubscribeURL: n.SubscribeURL, TopicArn: n.TopicArn}, nil
	}
	res := &Result{Verdicts: make([]Verdict, len(n.Objects))}
	var starts []int
	for i := range n.Objects {
		v := &res.Verdicts[i]
		v.Object = n.Objects[i]
		if ok, why := t.Filter.Match(&n.Objects[i]); !ok {
			v.Skipped = why
			continue
		}
		v.Object = t.Filter.Target(n.Objects[i])
		v.Run = v.Object.RunName(t.Pipeline)
		v.Start = true
		starts = append(starts, i)
	}
	starts = reduce(t, res.Verdicts, starts)
	if t.MaxStarts > 0 && len(starts) > t.MaxStarts {
		var uris []string
		for _, i := range starts {
			uris = append(uris, res.Verdicts[i].Object.URI)
		}
		return nil, fail(KindInvalid, "this notification names %d objects that would each start a run (%s), but this path starts at most %d run per notification: send one record per notification (S3 and MinIO do), set a quietWindow, or use the direct receiver", len(starts), strings.Join(uris, ", "), t.MaxStarts)
	}
	for _, i := range starts {
		if err := e.decide(ctx, t, &res.Verdicts[i]); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// reduce applies the rules for several matching objects in one notification to the verdicts at starts and
// returns the indices that still start.
func reduce(t *Target, vs []Verdict, starts []int) []int {
	seen := map[string]int{}
	var distinct []int
	for _, i := range starts {
		if j, dup := seen[vs[i].Run]; dup {
			vs[i].Start, vs[i].Skipped = false, fmt.Sprintf("the same object version as record %d of this notification", j)
			continue
		}
		seen[vs[i].Run] = i
		distinct = append(distinct, i)
	}
	burst := t.QuietWindow > 0 || t.Policy == policy.Forbid || t.Policy == policy.Replace
	if !burst || len(distinct) < 2 {
		return distinct
	}
	last := distinct[len(distinct)-1]
	for _, i := range distinct[:len(distinct)-1] {
		vs[i].Start, vs[i].Skipped = false, fmt.Sprintf("superseded by %s, a newer object of the same notification", vs[last].Object.URI)
	}
	return []int{last}
}

// decide coalesces v and applies the concurrency policy; it leaves v.Start true when the run is to start.
func (e *Engine) decide(ctx context.Context, t *Target, v *Verdict) error {
	// A redelivery of an object whose run exists is the same start again: it must neither take the place of a
	// newer object in a burst nor cancel (Replace) or be refused for (Forbid) the runs started after it.
	if e.Runs != nil {
		if _, err := e.Runs.PipelineRuns(t.Namespace).Get(v.Run); err == nil {
			return nil
		}
	}
	if t.QuietWindow > 0 {
		last, err := e.wait(ctx, t.Namespace+"/"+t.Pipeline, t.QuietWindow)
		if err != nil {
			return fail(KindUnavailable, "coalescing %s: %v", v.Object.URI, err)
		}
		if !last {
			v.Start, v.Skipped = false, fmt.Sprintf("superseded by a newer object within the quiet window %s", t.QuietWindow)
			return nil
		}
	}
	if t.Policy != policy.Forbid && t.Policy != policy.Replace {
		return nil
	}
	if e.Runs == nil {
		return fail(KindUnavailable, "concurrencyPolicy %s needs a PipelineRun lister", t.Policy)
	}
	// One decision at a time per pipeline, over the cache plus the runs this Engine admitted that the cache does
	// not show yet: within one process no two notifications can both see "nothing active".
	s := e.slot(t.Namespace + "/" + t.Pipeline)
	s.mu.Lock()
	defer s.mu.Unlock()
	// pending before List: a run the cache starts showing in between is then in the list, never in neither.
	pending := e.pending(s, t.Namespace)
	all, err := e.Runs.PipelineRuns(t.Namespace).List(labels.Everything())
	if err != nil {
		return fail(KindUnavailable, "error listing the runs of %s/%s: %v", t.Namespace, t.Pipeline, err)
	}
	pending = slices.DeleteFunc(pending, func(p *v1.PipelineRun) bool {
		return slices.ContainsFunc(all, func(r *v1.PipelineRun) bool { return r.Name == p.Name })
	})
	d := policy.Decide(t.Policy, policy.Active(append(policy.RunsOf(t.Pipeline, all), pending...)), v.Run)
	switch d.Action {
	case policy.Skip:
		v.Start, v.Skipped = false, d.Reason+admittedNote(pending, v.Run)
		e.logger().Infow("not starting", "namespace", t.Namespace, "pipeline", t.Pipeline, "run", v.Run, "reason", v.Skipped)
		return nil
	case policy.CancelThenStart:
		if err := policy.Cancel(ctx, e.Tekton, d.Cancel); err != nil {
			return fail(KindUnavailable, "%s: %v", d.Reason, err)
		}
	}
	if _, seen := s.admitted[v.Run]; !seen {
		s.admitted[v.Run] = e.clock().Now()
	}
	return nil
}

// admittedNote names the runs of pending other than self, for a Skip's reason.
func admittedNote(pending []*v1.PipelineRun, self string) string {
	var names []string
	for _, r := range pending {
		if r.Name != self {
			names = append(names, r.Name)
		}
	}
	if len(names) == 0 {
		return ""
	}
	sort.Strings(names)
	return fmt.Sprintf("; started by this process and not yet in its cache: %s", strings.Join(names, ", "))
}

func (e *Engine) logger() *zap.SugaredLogger {
	if e.Logger == nil {
		return zap.NewNop().Sugar()
	}
	return e.Logger
}

func (e *Engine) clock() clock.Clock {
	if e.Clock == nil {
		return clock.RealClock{}
	}
	return e.Clock
}
