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

// Package admission is the admission webhook of the PipelineSchedule API, served by
// cmd/controller the way Tekton's cmd/webhook serves Tekton's: knative's defaulting and
// validating admission controllers call PipelineSchedule.SetDefaults and Validate on every
// create and update, and knative's certificates controller keeps the serving certificate in
// a Secret. The controllers here also keep the webhook configurations of config/500-webhooks.yaml
// up to date (rules, CA bundle, path).
package admission

import (
	"context"
	"os"

	"github.com/mlpipe/mlpipe/pkg/apis/mlpipe/v1alpha1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/clock"
	"knative.dev/pkg/configmap"
	"knative.dev/pkg/controller"
	"knative.dev/pkg/injection"
	"knative.dev/pkg/webhook"
	"knative.dev/pkg/webhook/certificates"
	"knative.dev/pkg/webhook/resourcesemantics"
	"knative.dev/pkg/webhook/resourcesemantics/defaulting"
	"knative.dev/pkg/webhook/resourcesemantics/validation"
)

// Defaults of the webhook, each overridden by its environment variable (as in Tekton's webhook).
const (
	// DefaultServiceName is the Service the webhook configurations call (WEBHOOK_SERVICE_NAME):
	// knative's certificate is issued for <service>.<namespace>.svc.
	DefaultServiceName = "mlpipe-controller-webhook"
	// DefaultSecretName is the Secret holding the serving certificate and its CA (WEBHOOK_SECRET_NAME).
	DefaultSecretName = "mlpipe-controller-webhook-certs"
	// DefaultPort is the port the webhook listens on (WEBHOOK_PORT).
	DefaultPort = 8443
)

// Names and paths of the webhook configurations (config/500-webhooks.yaml).
const (
	// DefaultingName names the MutatingWebhookConfiguration and its webhook.
	DefaultingName = "webhook.mlpipe.dev"
	// ValidationName names the ValidatingWebhookConfiguration and its webhook.
	ValidationName = "validation.webhook.mlpipe.dev"
	// DefaultingPath and ValidationPath are where the webhook serves each.
	DefaultingPath = "/defaulting"
	ValidationPath = "/resource-validation"
)

// Types are the kinds the webhook defaults and validates.
var Types = map[schema.GroupVersionKind]resourcesemantics.GenericCRD{
	v1alpha1.SchemeGroupVersion.WithKind("PipelineSchedule"): &v1alpha1.PipelineSchedule{},
}

// WithOptions returns ctx with the webhook's options (service, port, secret) from the
// environment: sharedmain serves the admission controllers only in such a context.
func WithOptions(ctx context.Context) context.Context {
	return webhook.WithOptions(ctx, webhook.Options{
		ServiceName: envOr("WEBHOOK_SERVICE_NAME", DefaultServiceName),
		SecretName:  envOr("WEBHOOK_SECRET_NAME", DefaultSecretName),
		Port:        webhook.PortFromEnv(DefaultPort),
	})
}

// Controllers returns the constructors sharedmain runs for the webhook: the certificates
// controller and the defaulting and validating admission controllers. Validate reads the
// date from clk (see v1alpha1.WithClock).
func Controllers(clk clock.PassiveClock) []injection.ControllerConstructor {
	withClock := func(ctx context.Context) context.Context { return v1alpha1.WithClock(ctx, clk) }
	return []injection.ControllerConstructor{
		certificates.NewController,
		func(ctx context.Context, _ configmap.Watcher) *controller.Impl {
			// Unknown fields are refused, as Tekton's webhook does (the CRD schema prunes them first).
			return defaulting.NewAdmissionController(ctx, DefaultingName, DefaultingPath, Types, withClock, true)
		},
		func(ctx context.Context, _ configmap.Watcher) *controller.Impl {
			return validation.NewAdmissionController(ctx, ValidationName, ValidationPath, Types, withClock, true)
		},
	}
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
