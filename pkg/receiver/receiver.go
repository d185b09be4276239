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

// Package receiver is mlpipe's direct receiver for S3 and MinIO bucket notifications, for users who cannot
// afford to lose one: it creates the PipelineRun synchronously and answers 200 only once the run exists, so any
// failure (5xx, a timeout, a crash) makes MinIO's queue or the sender's retry redeliver the notification. A
// redelivery maps to the same run name (pkg/events), so it hits AlreadyExists, which counts as success when the
// existing run is ours.
//
// The chain from the request to the runs to start (credentials read per request, decode, filter, names,
// coalescing, concurrency policy, cancel) is the engine it shares with the Triggers interceptor
// (pkg/events/engine); the receiver creates every run the engine says to start, and tells the engine (Abandon)
// when the API server refused a create it admitted under Forbid or Replace. Answers: 200 run(s) created (or
// already there, filtered out, superseded, skipped by policy with results[].skipped saying why, s3:TestEvent:
// a burst under Forbid gets one created and the rest skipped); 400 malformed or refused
// notification; 401 missing or bad credentials; 404 unknown path; 405 not POST; 409 a run of that name exists
// for another object; 413 body too large; 5xx anything that should be retried.
package receiver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/mlpipe/mlpipe/pkg/events"
	"github.com/mlpipe/mlpipe/pkg/events/engine"
	"github.com/mlpipe/mlpipe/pkg/policy"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"go.uber.org/zap"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Labels and annotations on the runs the S3 paths create.
const (
	// TriggerLabel says what started the run; its value is "s3".
	TriggerLabel = "mlpipe.dev/trigger"
	// DedupKeyAnnotation holds the object version the run is for; a run with the same name and this annotation
	// is the same start delivered twice.
	DedupKeyAnnotation = "mlpipe.dev/s3-dedup-key"
	// URIAnnotation holds the object's URI.
	URIAnnotation = "mlpipe.dev/s3-uri"
	// ETagAnnotation holds the object's ETag.
	ETagAnnotation = "mlpipe.dev/s3-etag"
	// DataURIParam is the Pipeline param that receives the object's URI.
	DataURIParam = "data-uri"
)

// DefaultMaxBodyBytes bounds a notification body (S3 and MinIO send one record of a few KiB).
const DefaultMaxBodyBytes = 256 << 10

// Route is what one URL path starts.
type Route struct {
	// Target is what the engine checks a notification against: namespace, pipeline, filter, policy, quiet
	// window and credentials (read per request: see FileCredentials).
	engine.Target
	// Template is the run to create (pipelineRef, workspaces, pod template, params); name, labels, annotations
	// and the data-uri param are set per object. Nil: a run with only pipelineRef and data-uri.
	Template *v1.PipelineRun
}

// Receiver is the HTTP handler.
type Receiver struct {
	// Routes maps URL paths to routes.
	Routes map[string]*Route
	// Engine runs notifications through the chain shared with the interceptor; its Tekton client creates the
	// runs (its rest.Config carries the client-side QPS limits) and its lister answers redeliveries from cache.
	Engine *engine.Engine
	// MaxBodyBytes bounds the request body (0: DefaultMaxBodyBytes).
	MaxBodyBytes int64
	// CreateTimeout bounds the create call (0: 10 s), shorter than the sender's timeout.
	CreateTimeout time.Duration
	// Logger logs requests that fail.
	Logger *zap.SugaredLogger
}

// Result is one object's outcome in a 200 response.
type Result struct {
	URI      string `json:"uri"`
	DedupKey string `json:"dedupKey"`
	// Run is the PipelineRun's name (also when it was not created).
	Run string `json:"run,omitempty"`
	// Created is true when this request created the run, false when it already existed or was not started.
	Created bool `json:"created"`
	// Skipped says why no run was started (filter, coalescing, policy).
	Skipped string `json:"skipped,omitempty"`
}

// Response is the JSON body of every answer.
type Response struct {
	// Error is set on 4xx and 5xx.
	Error string `json:"error,omitempty"`
	// Test is true for an acknowledged s3:TestEvent or SNS subscription confirmation.
	Test bool `json:"test,omitempty"`
	// SubscribeURL is the URL that confirms an SNS subscription (mlpipe does not fetch it: visit it, or run
	// aws sns confirm-subscription).
	SubscribeURL string   `json:"subscribeURL,omitempty"`
	Results      []Result `json:"results,omitempty"`
}

// httpError is an answer other than 200.
type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string { return e.msg }

func fail(code int, format string, args ...any) error {
	return &httpError{code: code, msg: fmt.Sprintf(format, args...)}
}

// ServeHTTP implements http.Handler.
func (rc *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if p := recover(); p != nil {
			rc.logger().Errorw("panic serving a notification", "panic", p)
			write(w, http.StatusInternalServerError, &Response{Error: "internal error"})
		}
	}()
	resp, err := rc.serve(r)
	if err != nil {
		code := http.StatusInternalServerError
		var he *httpError
		if errors.As(err, &he) {
			code = he.code
		}
		if code >= 500 {
			rc.logger().Warnw("notification not acknowledged", "path", r.URL.Path, "code", code, "error", err)
		}
		write(w, code, &Response{Error: err.Error()})
		return
	}
	write(w, http.StatusOK, resp)
}

func (rc *Receiver) logger() *zap.SugaredLogger {
	if rc.Logger == nil {
		return zap.NewNop().Sugar()
	}
	return rc.Logger
}

func write(w http.ResponseWriter, code int, r *Response) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(r)
}

func (rc *Receiver) serve(r *http.Request) (*Response, error) {
	if r.Method != http.MethodPost {
		return nil, fail(http.StatusMethodNotAllowed, "use POST")
	}
	route := rc.Routes[r.URL.Path]
	if route == nil {
		return nil, fail(http.StatusNotFound, "no route for path %q", r.URL.Path)
	}
	limit := rc.MaxBodyBytes
	if limit <= 0 {
		limit = DefaultMaxBodyBytes
	}
	if r.ContentLength > limit {
		return nil, fail(http.StatusRequestEntityTooLarge, "body of %d bytes exceeds the limit of %d", r.ContentLength, limit)
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, fail(http.StatusRequestEntityTooLarge, "body exceeds the limit of %d bytes", limit)
		}
		return nil, fail(http.StatusBadRequest, "error reading the body: %v", err)
	}
	res, err := rc.Engine.Handle(r.Context(), &route.Target, r.Header, body)
	if err != nil {
		return nil, fail(HTTPStatus(err), "%v", err)
	}
	if res.Test {
		return &Response{Test: true, SubscribeURL: res.SubscribeURL}, nil
	}
	resp := &Response{}
	for _, v := range res.Verdicts {
		out := Result{URI: v.Object.URI, DedupKey: v.Object.DedupKey, Run: v.Run, Skipped: v.Skipped}
		if v.Start {
			created, err := rc.create(r.Context(), route, &v.Object, v.Run)
			if err != nil {
				if notCreated(err) {
					rc.Engine.Abandon(&route.Target, v.Run)
				}
				return nil, err
			}
			out.Created = created
		}
		resp.Results = append(resp.Results, out)
	}
	return resp, nil
}

// HTTPStatus is the HTTP status of an engine error, as the receiver answers it.
func HTTPStatus(err error) int {
	var e *engine.Error
	if !errors.As(err, &e) {
		return http.StatusInternalServerError
	}
	switch e.Kind {
	case engine.KindInvalid:
		return http.StatusBadRequest
	case engine.KindUnauthenticated:
		return http.StatusUnauthorized
	default:
		return http.StatusServiceUnavailable
	}
}

// create creates the run named name for object o; it reports whether this request created it. A run of that
// name started for the same object version is the same start delivered twice. An error means the notification
// must be redelivered (or, 409, that the name is taken by another object).
func (rc *Receiver) create(ctx context.Context, route *Route, o *events.Object, name string) (bool, error) {
	// A redelivery whose run the informer already holds costs no API call.
	if existing, ok := rc.cached(route.Namespace, name); ok {
		return false, sameStart(existing, route.Namespace, o)
	}
	pr := NewRun(route, o, name)
	timeout := rc.CreateTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	runs := rc.Engine.Tekton.TektonV1().PipelineRuns(route.Namespace)
	_, err := runs.Create(cctx, pr, metav1.CreateOptions{})
	switch {
	case err == nil:
		return true, nil
	case apierrors.IsAlreadyExists(err):
		existing, ok := rc.cached(route.Namespace, name)
		if !ok {
			var gerr error
			if existing, gerr = runs.Get(cctx, name, metav1.GetOptions{}); gerr != nil {
				return false, fail(http.StatusServiceUnavailable, "run %s exists but cannot be read: %v", name, gerr)
			}
		}
		return false, sameStart(existing, route.Namespace, o)
	default:
		return false, &createError{httpError: &httpError{code: http.StatusServiceUnavailable,
			msg: fmt.Sprintf("error creating PipelineRun %s/%s: %v", route.Namespace, name, err)}, err: err}
	}
}

// createError is a create the API server refused; err is its answer.
type createError struct {
	*httpError
	err error
}

func (e *createError) Unwrap() []error { return []error{e.httpError, e.err} }

// notCreated reports whether err from create says for sure that no run was created: a 409 (the name is another
// object's run) or an answer of the API server other than a timeout or an internal error. After a client-side
// timeout or a dropped connection the run may exist, so it stays admitted (see engine.Engine.Abandon).
func notCreated(err error) bool {
	var he *httpError
	if errors.As(err, &he) && he.code == http.StatusConflict {
		return true
	}
	var ce *createError
	if !errors.As(err, &ce) {
		return false
	}
	var status apierrors.APIStatus
	if !errors.As(ce.err, &status) {
		return false
	}
	switch {
	case apierrors.IsTimeout(ce.err), apierrors.IsServerTimeout(ce.err), apierrors.IsInternalError(ce.err), apierrors.IsUnexpectedServerError(ce.err):
		return false
	}
	return true
}

// sameStart returns nil when existing was started for o, a 409 otherwise.
func sameStart(existing *v1.PipelineRun, ns string, o *events.Object) error {
	if existing.Annotations[DedupKeyAnnotation] != o.DedupKey {
		return fail(http.StatusConflict, "a PipelineRun named %s exists in %s but was not started for %s", existing.Name, ns, o.DedupKey)
	}
	return nil
}

// cached returns the run named name from the informer's cache, when there is one.
func (rc *Receiver) cached(ns, name string) (*v1.PipelineRun, bool) {
	if rc.Engine.Runs == nil {
		return nil, false
	}
	pr, err := rc.Engine.Runs.PipelineRuns(ns).Get(name)
	return pr, err == nil
}

// NewRun returns the PipelineRun route starts for object o: the route's template with the run's name, the
// pipeline and trigger labels, the object's annotations and data-uri set to the object's URI. The object's key
// and bucket reach the pipeline only as this param.
func NewRun(route *Route, o *events.Object, name string) *v1.PipelineRun {
	var pr *v1.PipelineRun
	if route.Template != nil {
		pr = route.Template.DeepCopy()
	} else {
		pr = &v1.PipelineRun{Spec: v1.PipelineRunSpec{PipelineRef: &v1.PipelineRef{Name: route.Pipeline}}}
	}
	pr.TypeMeta = metav1.TypeMeta{}
	pr.ObjectMeta = metav1.ObjectMeta{
		Name:        name,
		Namespace:   route.Namespace,
		Labels:      pr.Labels,
		Annotations: pr.Annotations,
	}
	if pr.Labels == nil {
		pr.Labels = map[string]string{}
	}
	if pr.Annotations == nil {
		pr.Annotations = map[string]string{}
	}
	pr.Labels[policy.PipelineLabel] = route.Pipeline
	pr.Labels[TriggerLabel] = "s3"
	pr.Annotations[DedupKeyAnnotation] = o.DedupKey
	pr.Annotations[URIAnnotation] = o.URI
	pr.Annotations[ETagAnnotation] = o.ETag
	params := v1.Params{{Name: DataURIParam, Value: *v1.NewStructuredValues(o.URI)}}
	for _, p := range pr.Spec.Params {
		if p.Name != DataURIParam {
			params = append(params, p)
		}
	}
	pr.Spec.Params = params
	return pr
}
