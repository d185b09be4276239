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

// Package interceptor is mlpipe's S3/MinIO interceptor for Tekton Triggers: a ClusterInterceptor that runs a
// bucket notification through the engine shared with the direct receiver (pkg/events/engine: authenticate with
// the Trigger's Secret, read per request; decode; filter by bucket, prefix, suffix, event type and marker;
// coalesce bursts; apply the pipeline's concurrency policy) and hands the one object to start, with the
// PipelineRun name derived from its dedup key, to the Trigger's bindings as extensions:
//
//	$(extensions.mlpipe.bucket) $(extensions.mlpipe.key) $(extensions.mlpipe.uri) $(extensions.mlpipe.etag)
//	$(extensions.mlpipe.runName) ...
//
// The TriggerTemplate names the PipelineRun $(tt.params.run-name), so a duplicate delivery hits AlreadyExists
// instead of starting a second run. One response creates one PipelineRun, so a notification whose objects would
// start more than one run is refused whole with InvalidArgument (see pkg/events/engine).
//
// A notification that starts nothing (filtered out, superseded, or skipped by Forbid: under a burst one object is
// handed on and the others are skipped, see pkg/events/engine) is answered FailedPrecondition "nothing to start:
// <uri>: <reason>", and the engine logs the reason; the EventListener creates nothing for it and, as for every
// event, answers the sender 202 (Triggers processes triggers after answering), so the sender is not told.
package interceptor

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/mlpipe/mlpipe/pkg/events"
	"github.com/mlpipe/mlpipe/pkg/events/engine"
	"github.com/mlpipe/mlpipe/pkg/policy"
	triggersv1 "github.com/tektoncd/triggers/pkg/apis/triggers/v1beta1"
	"github.com/tektoncd/triggers/pkg/interceptors"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
)

// Name is the ClusterInterceptor's name and the path it is served at (https://<host>/mlpipe-s3).
const Name = "mlpipe-s3"

// ExtensionsKey is the key of the extensions the interceptor adds: $(extensions.mlpipe.<field>).
const ExtensionsKey = "mlpipe"

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
	// QuietWindow coalesces bursts: an object starts a run only if no newer matching object for the same
	// namespace and pipeline arrives within it (Go duration, at most engine.MaxQuietWindow, 2.5 s).
	QuietWindow string `json:"quietWindow,omitempty"`
}

// Interceptor implements Triggers' InterceptorInterface for S3 and MinIO notifications.
type Interceptor struct {
	// Secrets reads the token and HMAC key for every request (Triggers' DefaultSecretGetter caches them for
	// 5 s), so a rotated Secret applies within seconds, without a restart.
	Secrets interceptors.SecretGetter
	// Engine runs the notification through the chain shared with the direct receiver.
	Engine *engine.Engine
	// Logger logs decisions.
	Logger *zap.SugaredLogger
}

// New returns an Interceptor.
func New(secrets interceptors.SecretGetter, eng *engine.Engine, logger *zap.SugaredLogger) *Interceptor {
	if logger == nil {
		logger = zap.NewNop().Sugar()
	}
	if eng == nil {
		eng = &engine.Engine{Logger: logger}
	}
	return &Interceptor{Secrets: secrets, Engine: eng, Logger: logger}
}

// Interceptor implements Triggers' InterceptorInterface.
var _ triggersv1.InterceptorInterface = (*Interceptor)(nil)

// Process implements triggersv1.InterceptorInterface.
func (i *Interceptor) Process(ctx context.Context, r *triggersv1.InterceptorRequest) *triggersv1.InterceptorResponse {
	var p Params
	if err := interceptors.UnmarshalParams(r.InterceptorParams, &p); err != nil {
		return interceptors.Failf(codes.InvalidArgument, "invalid %s interceptor params: %v", Name, err)
	}
	ns, err := triggerNamespace(r.Context)
	if err != nil {
		return interceptors.Fail(codes.InvalidArgument, err.Error())
	}
	t, err := p.target(ns, i.Secrets)
	if err != nil {
		return interceptors.Failf(codes.InvalidArgument, "invalid %s interceptor params: %v", Name, err)
	}
	res, err := i.Engine.Handle(ctx, t, interceptors.Canonical(r.Header), []byte(r.Body))
	if err != nil {
		return interceptors.Fail(Code(err), err.Error())
	}
	if res.Test {
		if res.SubscribeURL != "" {
			return interceptors.Fail(codes.OK, fmt.Sprintf("SNS subscription confirmation for topic %s acknowledged; nothing to start. Confirm the subscription by visiting its SubscribeURL: %s", res.TopicArn, res.SubscribeURL))
		}
		return interceptors.Fail(codes.OK, "s3:TestEvent acknowledged; nothing to start")
	}
	starts := res.Starts()
	if len(starts) == 0 {
		var reasons []string
		for _, v := range res.Verdicts {
			reasons = append(reasons, v.Object.URI+": "+v.Skipped)
		}
		return interceptors.Failf(codes.FailedPrecondition, "nothing to start: %s", strings.Join(reasons, "; "))
	}
	v := starts[0] // the engine starts at most Target.MaxStarts (1) per notification
	i.Logger.Infow("starting pipeline", "namespace", ns, "pipeline", p.Pipeline, "run", v.Run, "uri", v.Object.URI, "dedupKey", v.Object.DedupKey)
	return &triggersv1.InterceptorResponse{
		Continue:   true,
		Extensions: map[string]interface{}{ExtensionsKey: Extensions(&v.Object, v.Run)},
	}
}

// Code is the gRPC code of an engine error, as the interceptor answers it.
func Code(err error) codes.Code {
	var e *engine.Error
	if !errors.As(err, &e) {
		return codes.Internal
	}
	switch e.Kind {
	case engine.KindInvalid:
		return codes.InvalidArgument
	case engine.KindUnauthenticated:
		return codes.Unauthenticated
	default:
		return codes.Unavailable
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

// target checks the params and returns the engine's target for the Trigger in namespace ns.
func (p *Params) target(ns string, secrets interceptors.SecretGetter) (*engine.Target, error) {
	pol, err := policy.Parse(p.ConcurrencyPolicy)
	if err != nil {
		return nil, err
	}
	if p.TokenSecretRef == nil && p.HMACSecretRef == nil {
		return nil, fmt.Errorf("tokenSecretRef or hmacSecretRef is required: unauthenticated notifications are refused")
	}
	for _, ref := range []*triggersv1.SecretRef{p.TokenSecretRef, p.HMACSecretRef} {
		if ref != nil && (ref.SecretName == "" || ref.SecretKey == "") {
			return nil, fmt.Errorf("a secret reference needs secretName and secretKey")
		}
	}
	window, err := engine.ParseQuietWindow(p.QuietWindow)
	if err != nil {
		return nil, err
	}
	t := &engine.Target{
		Namespace: ns, Pipeline: p.Pipeline, Filter: p.Filter, Policy: pol, QuietWindow: window,
		Credentials: &secretCredentials{secrets: secrets, ns: ns, token: p.TokenSecretRef, hmac: p.HMACSecretRef},
		MaxStarts:   1,
	}
	return t, t.Validate()
}

// secretCredentials reads the Trigger's Secrets for each request.
type secretCredentials struct {
	secrets     interceptors.SecretGetter
	ns          string
	token, hmac *triggersv1.SecretRef
}

// Auth implements engine.Credentials.
func (c *secretCredentials) Auth(ctx context.Context) (*events.Auth, error) {
	if c.secrets == nil {
		return nil, errors.New("no secret getter")
	}
	a := &events.Auth{}
	var err error
	if c.token != nil {
		if a.Token, err = c.secrets.Get(ctx, c.ns, c.token); err != nil {
			return nil, err
		}
	}
	if c.hmac != nil {
		if a.HMACKey, err = c.secrets.Get(ctx, c.ns, c.hmac); err != nil {
			return nil, err
		}
	}
	return a, nil
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

// Handler returns the HTTP handler serving this interceptor at /Name with Triggers' own interceptor server code
// (the same request and response handling as Triggers' core interceptors).
func (i *Interceptor) Handler() http.Handler {
	return newTriggersServer(i)
}
