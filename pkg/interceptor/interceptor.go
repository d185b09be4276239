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

// Package interceptor is mlpipe's S3/MinIO interceptor for Tekton Triggers: a ClusterInterceptor that
// authenticates a bucket notification (bearer token as MinIO sends it, or an HMAC-SHA256 over the raw body),
// decodes it with pkg/events, filters it by bucket, prefix, suffix and event type, optionally coalesces bursts,
// applies the pipeline's concurrency policy (pkg/policy) and hands the normalised object, with the PipelineRun
// name derived from its dedup key, to the Trigger's bindings as extensions:
//
//	$(extensions.mlpipe.bucket) $(extensions.mlpipe.key) $(extensions.mlpipe.uri) $(extensions.mlpipe.etag)
//	$(extensions.mlpipe.runName) ...
//
// The TriggerTemplate names the PipelineRun $(tt.params.run-name), so a duplicate delivery hits AlreadyExists
// instead of starting a second run.
package interceptor

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/mlpipe/mlpipe/pkg/events"
	"github.com/mlpipe/mlpipe/pkg/policy"
	versioned "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	listers "github.com/tektoncd/pipeline/pkg/client/listers/pipeline/v1"
	triggersv1 "github.com/tektoncd/triggers/pkg/apis/triggers/v1beta1"
	"github.com/tektoncd/triggers/pkg/interceptors"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"k8s.io/apimachinery/pkg/labels"
)

// Name is the ClusterInterceptor's name and the path it is served at (https://<host>/mlpipe-s3).
const Name = "mlpipe-s3"

// ExtensionsKey is the key of the extensions the interceptor adds: $(extensions.mlpipe.<field>).
const ExtensionsKey = "mlpipe"

// MaxQuietWindow bounds the quiet window: Triggers' interceptor server gives each request 3 s.
const MaxQuietWindow = 2500 * time.Millisecond

// Params are the interceptor params of a Trigger.
type Params struct {
	// Pipeline names the Pipeline the Trigger starts; runs are named after it and the policy counts its runs.
	Pipeline string `json:"pipeline"`
	// Filter selects objects (bucket, prefix, suffix, events, marker).
	Filter events.Filter `json:"filter"`
	// ConcurrencyPolicy is Allow (default), Forbid or Replace.
	ConcurrencyPolicy string `json:"concurrencyPolicy,omitempty"`
	// TokenSecretRef names the Secret key (in the Trigger's namespace) holding the bearer token.
	TokenSecretRef *triggersv1.SecretRef `json:"tokenSecretRef,omitempty"`
	// HMACSecretRef names the Secret key (in the Trigger's namespace) holding the HMAC-SHA256 key.
	HMACSecretRef *triggersv1.SecretRef `json:"hmacSecretRef,omitempty"`
	// QuietWindow coalesces bursts: an object starts a run only if no newer matching object of the same
	// Trigger arrives within it (Go duration, at most MaxQuietWindow).
	QuietWindow string `json:"quietWindow,omitempty"`
}

// Interceptor implements Triggers' InterceptorInterface for S3 and MinIO notifications.
type Interceptor struct {
	// Secrets reads the token and HMAC key (Triggers' DefaultSecretGetter caches them for 5 s).
	Secrets interceptors.SecretGetter
	// Runs lists PipelineRuns from an informer's cache, for the concurrency policy: no API call per event.
	Runs listers.PipelineRunLister
	// Tekton cancels runs for the Replace policy.
	Tekton versioned.Interface
	// Logger logs decisions.
	Logger *zap.SugaredLogger

	mu         sync.Mutex
	coalescers map[time.Duration]*events.Coalescer
}

// New returns an Interceptor.
func New(secrets interceptors.SecretGetter, runs listers.PipelineRunLister, tekton versioned.Interface, logger *zap.SugaredLogger) *Interceptor {
	if logger == nil {
		logger = zap.NewNop().Sugar()
	}
	return &Interceptor{Secrets: secrets, Runs: runs, Tekton: tekton, Logger: logger}
}

// Interceptor implements Triggers' InterceptorInterface.
var _ triggersv1.InterceptorInterface = (*Interceptor)(nil)

// Process implements triggersv1.InterceptorInterface.
func (i *Interceptor) Process(ctx context.Context, r *triggersv1.InterceptorRequest) *triggersv1.InterceptorResponse {
	var p Params
	if err := interceptors.UnmarshalParams(r.InterceptorParams, &p); err != nil {
		return interceptors.Failf(codes.InvalidArgument, "invalid %s interceptor params: %v", Name, err)
	}
	if err := p.validate(); err != nil {
		return interceptors.Failf(codes.InvalidArgument, "invalid %s interceptor params: %v", Name, err)
	}
	ns, err := triggerNamespace(r.Context)
	if err != nil {
		return interceptors.Fail(codes.InvalidArgument, err.Error())
	}
	auth, err := i.auth(ctx, ns, &p)
	if err != nil {
		return interceptors.Failf(codes.FailedPrecondition, "error reading the notification secret: %v", err)
	}
	body := []byte(r.Body)
	if err := auth.Check(interceptors.Canonical(r.Header), body); err != nil {
		return interceptors.Fail(codes.Unauthenticated, err.Error())
	}
	n, err := events.Decode(body)
	if err != nil {
		return interceptors.Fail(codes.InvalidArgument, err.Error())
	}
	if n.Test {
		if n.SubscribeURL != "" {
			return interceptors.Fail(codes.OK, fmt.Sprintf("SNS subscription confirmation for topic %s acknowledged; nothing to start. Confirm the subscription by visiting its SubscribeURL: %s", n.TopicArn, n.SubscribeURL))
		}
		return interceptors.Fail(codes.OK, "s3:TestEvent acknowledged; nothing to start")
	}
	var obj *events.Object
	var reasons []string
	for k := range n.Objects {
		if ok, why := p.Filter.Match(&n.Objects[k]); ok {
			t := p.Filter.Target(n.Objects[k])
			obj = &t
			break
		} else {
			reasons = append(reasons, why)
		}
	}
	if obj == nil {
		return interceptors.Failf(codes.FailedPrecondition, "no object matches the trigger: %s", strings.Join(reasons, "; "))
	}
	runName := obj.RunName(p.Pipeline)
	if d := p.quietWindow(); d > 0 {
		last, err := i.coalescer(d).Wait(ctx, r.Context.TriggerID)
		if err != nil {
			return interceptors.Failf(codes.DeadlineExceeded, "coalescing %s: %v", obj.URI, err)
		}
		if !last {
			return interceptors.Failf(codes.FailedPrecondition, "%s superseded by a newer object within the quiet window %s", obj.URI, d)
		}
	}
	if resp := i.applyPolicy(ctx, ns, &p, runName); resp != nil {
		return resp
	}
	i.Logger.Infow("starting pipeline", "namespace", ns, "pipeline", p.Pipeline, "run", runName, "uri", obj.URI, "dedupKey", obj.DedupKey)
	return &triggersv1.InterceptorResponse{
		Continue:   true,
		Extensions: map[string]interface{}{ExtensionsKey: Extensions(obj, runName)},
	}
}

// Extensions are the fields the interceptor passes on under ExtensionsKey.
func Extensions(o *events.Object, runName string) map[string]interface{} {
	var eventTime string
	if !o.EventTime.IsZero() {
		eventTime = o.EventTime.Format(time.RFC3339Nano)
	}
	return map[string]interface{}{
		"bucket":    o.Bucket,
		"key":       o.Key,
		"uri":       o.URI,
		"size":      fmt.Sprint(o.Size),
		"etag":      o.ETag,
		"versionId": o.VersionID,
		"sequencer": o.Sequencer,
		"eventName": o.EventName,
		"eventTime": eventTime,
		"dedupKey":  o.DedupKey,
		"runName":   runName,
	}
}

func (p *Params) validate() error {
	if p.Pipeline == "" {
		return fmt.Errorf("pipeline is required")
	}
	if _, err := policy.Parse(p.ConcurrencyPolicy); err != nil {
		return err
	}
	if p.TokenSecretRef == nil && p.HMACSecretRef == nil {
		return fmt.Errorf("tokenSecretRef or hmacSecretRef is required: unauthenticated notifications are refused")
	}
	for _, ref := range []*triggersv1.SecretRef{p.TokenSecretRef, p.HMACSecretRef} {
		if ref != nil && (ref.SecretName == "" || ref.SecretKey == "") {
			return fmt.Errorf("a secret reference needs secretName and secretKey")
		}
	}
	if p.QuietWindow != "" {
		d, err := time.ParseDuration(p.QuietWindow)
		if err != nil || d < 0 || d > MaxQuietWindow {
			return fmt.Errorf("quietWindow %q: want a duration between 0 and %s", p.QuietWindow, MaxQuietWindow)
		}
	}
	return p.Filter.Validate()
}

func (p *Params) quietWindow() time.Duration {
	d, _ := time.ParseDuration(p.QuietWindow)
	return d
}

// triggerNamespace reads the Trigger's namespace from its ID, "namespaces/<ns>/triggers/<name>".
func triggerNamespace(c *triggersv1.TriggerContext) (string, error) {
	if c == nil {
		return "", fmt.Errorf("the request has no trigger context")
	}
	parts := strings.Split(c.TriggerID, "/")
	if len(parts) != 4 || parts[0] != "namespaces" || parts[1] == "" || parts[2] != "triggers" {
		return "", fmt.Errorf("unexpected trigger_id %q (want namespaces/<ns>/triggers/<name>)", c.TriggerID)
	}
	return parts[1], nil
}

func (i *Interceptor) auth(ctx context.Context, ns string, p *Params) (*events.Auth, error) {
	a := &events.Auth{}
	var err error
	if p.TokenSecretRef != nil {
		if a.Token, err = i.Secrets.Get(ctx, ns, p.TokenSecretRef); err != nil {
			return nil, err
		}
	}
	if p.HMACSecretRef != nil {
		if a.HMACKey, err = i.Secrets.Get(ctx, ns, p.HMACSecretRef); err != nil {
			return nil, err
		}
	}
	return a, nil
}

func (i *Interceptor) coalescer(d time.Duration) *events.Coalescer {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.coalescers == nil {
		i.coalescers = map[time.Duration]*events.Coalescer{}
	}
	c := i.coalescers[d]
	if c == nil {
		c = &events.Coalescer{Window: d}
		i.coalescers[d] = c
	}
	return c
}

// applyPolicy returns a response that stops the trigger, or nil to go on.
func (i *Interceptor) applyPolicy(ctx context.Context, ns string, p *Params, runName string) *triggersv1.InterceptorResponse {
	pol, _ := policy.Parse(p.ConcurrencyPolicy)
	if pol == policy.Allow {
		return nil
	}
	if i.Runs == nil {
		return interceptors.Failf(codes.Internal, "concurrencyPolicy %s needs a PipelineRun lister", pol)
	}
	d, err := Decide(i.Runs, ns, p.Pipeline, pol, runName)
	if err != nil {
		return interceptors.Failf(codes.Internal, "error listing the runs of %s/%s: %v", ns, p.Pipeline, err)
	}
	switch d.Action {
	case policy.Skip:
		i.Logger.Infow("not starting", "namespace", ns, "pipeline", p.Pipeline, "run", runName, "reason", d.Reason)
		return interceptors.Failf(codes.FailedPrecondition, "%s", d.Reason)
	case policy.CancelThenStart:
		if err := policy.Cancel(ctx, i.Tekton, d.Cancel); err != nil {
			return interceptors.Failf(codes.Unavailable, "%s: %v", d.Reason, err)
		}
	}
	return nil
}

// Decide applies pol to the runs of pipeline in ns, read from the lister's cache.
func Decide(runs listers.PipelineRunLister, ns, pipeline string, pol policy.Policy, self string) (policy.Decision, error) {
	all, err := runs.PipelineRuns(ns).List(labels.Everything())
	if err != nil {
		return policy.Decision{}, err
	}
	return policy.Decide(pol, policy.Active(policy.RunsOf(pipeline, all)), self), nil
}

// Handler returns the HTTP handler serving this interceptor at /Name with Triggers' own interceptor server code
// (the same request and response handling as Triggers' core interceptors).
func (i *Interceptor) Handler() http.Handler {
	return newTriggersServer(i)
}
