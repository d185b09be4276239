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
// It shares the decoder, filters, run names, coalescing and concurrency policy with the Triggers interceptor.
// Answers: 200 run created (or already there, filtered out, skipped by policy, s3:TestEvent); 400 malformed or
// refused notification; 401 missing or bad credentials; 404 unknown path; 405 not POST; 413 body too large;
// 5xx anything that should be retried.
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
	"github.com/mlpipe/mlpipe/pkg/policy"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	versioned "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	listers "github.com/tektoncd/pipeline/pkg/client/listers/pipeline/v1"
	"go.uber.org/zap"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
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
	// Namespace and Pipeline name the Pipeline to run.
	Namespace, Pipeline string
	// Filter selects the objects that start a run.
	Filter events.Filter
	// Policy is the concurrency policy.
	Policy policy.Policy
	// Auth authenticates requests; a Route with neither token nor key refuses every request.
	Auth events.Auth
	// Template is the run to create (pipelineRef, workspaces, pod template, params); name, labels, annotations
	// and the data-uri param are set per object. Nil: a run with only pipelineRef and data-uri.
	Template *v1.PipelineRun
	// Coalescer, when set, holds each object for its quiet window and starts only the last of a burst.
	Coalescer *events.Coalescer
}

// Receiver is the HTTP handler.
type Receiver struct {
	// Routes maps URL paths to routes.
	Routes map[string]*Route
	// Tekton creates runs (and cancels them for Replace); its rest.Config carries the client-side QPS limits.
	Tekton versioned.Interface
	// Runs lists runs from an informer's cache for the Forbid and Replace policies.
	Runs listers.PipelineRunLister
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
	if err := route.Auth.Check(r.Header, body); err != nil {
		return nil, fail(http.StatusUnauthorized, "%v", err)
	}
	n, err := events.Decode(body)
	if err != nil {
		return nil, fail(http.StatusBadRequest, "%v", err)
	}
	if n.Test {
		if n.SubscribeURL != "" {
			rc.logger().Warnw("SNS subscription awaits confirmation: visit its SubscribeURL", "path", r.URL.Path, "topic", n.TopicArn, "subscribeURL", n.SubscribeURL)
		}
		return &Response{Test: true, SubscribeURL: n.SubscribeURL}, nil
	}
	resp := &Response{}
	for _, o := range n.Objects {
		res, err := rc.start(r.Context(), route, o)
		if err != nil {
			return nil, err
		}
		resp.Results = append(resp.Results, res)
	}
	return resp, nil
}

// start starts the run for one object, or says why not; an error means the notification must be redelivered.
func (rc *Receiver) start(ctx context.Context, route *Route, o events.Object) (Result, error) {
	res := Result{URI: o.URI, DedupKey: o.DedupKey}
	if ok, why := route.Filter.Match(&o); !ok {
		res.Skipped = why
		return res, nil
	}
	o = route.Filter.Target(o)
	res.URI = o.URI
	res.Run = o.RunName(route.Pipeline)
	if route.Coalescer != nil {
		last, err := route.Coalescer.Wait(ctx, route.Namespace+"/"+route.Pipeline)
		if err != nil {
			return res, fail(http.StatusServiceUnavailable, "coalescing %s: %v", o.URI, err)
		}
		if !last {
			res.Skipped = "superseded by a newer object within the quiet window"
			return res, nil
		}
	}
	// A redelivery whose run the informer already holds costs no API call.
	if existing, ok := rc.cached(route.Namespace, res.Run); ok {
		if existing.Annotations[DedupKeyAnnotation] != o.DedupKey {
			return res, fail(http.StatusConflict, "a PipelineRun named %s exists in %s but was not started for %s", res.Run, route.Namespace, o.DedupKey)
		}
		return res, nil
	}
	if route.Policy == policy.Forbid || route.Policy == policy.Replace {
		if rc.Runs == nil {
			return res, fail(http.StatusInternalServerError, "concurrencyPolicy %s needs a PipelineRun lister", route.Policy)
		}
		d, err := decide(rc.Runs, route.Namespace, route.Pipeline, route.Policy, res.Run)
		if err != nil {
			return res, fail(http.StatusServiceUnavailable, "error listing runs: %v", err)
		}
		switch d.Action {
		case policy.Skip:
			res.Skipped = d.Reason
			return res, nil
		case policy.CancelThenStart:
			if err := policy.Cancel(ctx, rc.Tekton, d.Cancel); err != nil {
				return res, fail(http.StatusServiceUnavailable, "%s: %v", d.Reason, err)
			}
		}
	}
	pr := NewRun(route, &o, res.Run)
	timeout := rc.CreateTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	_, err := rc.Tekton.TektonV1().PipelineRuns(route.Namespace).Create(cctx, pr, metav1.CreateOptions{})
	switch {
	case err == nil:
		res.Created = true
		return res, nil
	case apierrors.IsAlreadyExists(err):
		existing, ok := rc.cached(route.Namespace, res.Run)
		var gerr error
		if !ok {
			existing, gerr = rc.Tekton.TektonV1().PipelineRuns(route.Namespace).Get(cctx, res.Run, metav1.GetOptions{})
		}
		if gerr != nil {
			return res, fail(http.StatusServiceUnavailable, "run %s exists but cannot be read: %v", res.Run, gerr)
		}
		if existing.Annotations[DedupKeyAnnotation] != o.DedupKey {
			return res, fail(http.StatusConflict, "a PipelineRun named %s exists in %s but was not started for %s", res.Run, route.Namespace, o.DedupKey)
		}
		return res, nil
	default:
		return res, fail(http.StatusServiceUnavailable, "error creating PipelineRun %s/%s: %v", route.Namespace, res.Run, err)
	}
}

// cached returns the run named name from the informer's cache, when there is one.
func (rc *Receiver) cached(ns, name string) (*v1.PipelineRun, bool) {
	if rc.Runs == nil {
		return nil, false
	}
	pr, err := rc.Runs.PipelineRuns(ns).Get(name)
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

// decide applies pol to the runs of pipeline in ns, read from the lister's cache (the same rule as the
// interceptor's; both sit on pkg/policy).
func decide(runs listers.PipelineRunLister, ns, pipeline string, pol policy.Policy, self string) (policy.Decision, error) {
	all, err := runs.PipelineRuns(ns).List(labels.Everything())
	if err != nil {
		return policy.Decision{}, err
	}
	return policy.Decide(pol, policy.Active(policy.RunsOf(pipeline, all)), self), nil
}
