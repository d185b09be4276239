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

// Command controller runs mlpipe's PipelineSchedule reconciler on knative's sharedmain
// (injection, leader election, metrics and logging from config-* ConfigMaps) and, with
// --webhook, the PipelineSchedule admission webhook (pkg/reconciler/admission).
package main

import (
	"flag"
	"os"
	"runtime/debug"
	"time"

	"github.com/mlpipe/mlpipe/pkg/reconciler/admission"
	"github.com/mlpipe/mlpipe/pkg/reconciler/pipelineschedule"
	filteredinformerfactory "github.com/tektoncd/pipeline/pkg/client/injection/informers/factory/filtered"
	"k8s.io/client-go/util/flowcontrol"
	"k8s.io/utils/clock"
	"knative.dev/pkg/controller"
	"knative.dev/pkg/injection"
	"knative.dev/pkg/injection/sharedmain"
	"knative.dev/pkg/signals"
)

// Client-side API limits used when the flags are not set.
const (
	DefaultQPS   = 50
	DefaultBurst = 100
)

func main() {
	workers := flag.Int("workers", 16, "reconciles running at once (slots that fire together are created in parallel, within the client's QPS)")
	memLimit := flag.Int64("memory-limit", 64<<20, "soft memory limit in bytes for the Go runtime (GOMEMLIMIT wins when set); 0 turns it off")
	statusSync := flag.Duration("status-sync-period", 5*time.Minute, "how stale per-slot status fields (lastScheduleTime, nextScheduleTime, active) may get under load; conditions are written at once")
	eagerQPS := flag.Float64("eager-status-qps", 1, "per-slot status writes per second made at once instead of coalesced (a quiet controller keeps status fresh; a burst falls back to --status-sync-period); 0 coalesces all")
	eagerBurst := flag.Int("eager-status-burst", 5, "burst of --eager-status-qps")
	probes := flag.Bool("health-probes", true, "serve knative's health probes on :8080 (the Deployment's liveness/readiness); turn off to run several controllers on one host")
	serveWebhook := flag.Bool("webhook", false, "also serve the PipelineSchedule defaulting and validating admission webhook (config/500-webhooks.yaml) on WEBHOOK_PORT (default 8443), its certificate kept in the WEBHOOK_SECRET_NAME Secret of SYSTEM_NAMESPACE")
	disableHA := flag.Bool("disable-ha", false, "run without leader election (every replica reconciles every schedule; run names still make each slot run once)")
	// --kube-api-qps and --kube-api-burst (or KUBE_API_QPS / KUBE_API_BURST) come from knative's
	// flags. Unset, they default here to 50 and 100: slots beyond the limit wait (late, never
	// dropped), and each slot costs about one request.
	cfg := injection.ParseAndGetRESTConfigOrDie()
	if cfg.QPS == 0 {
		cfg.QPS = DefaultQPS
	}
	if cfg.Burst == 0 {
		cfg.Burst = DefaultBurst
	}
	// One token bucket for every client the controller builds (kube, Tekton, mlpipe), so
	// --kube-api-qps limits the controller as a whole, as it does for kube-controller-manager.
	cfg.RateLimiter = flowcontrol.NewTokenBucketRateLimiter(cfg.QPS, cfg.Burst)
	controller.DefaultThreadsPerController = *workers
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set && *memLimit > 0 {
		debug.SetMemoryLimit(*memLimit)
	}

	ctx := filteredinformerfactory.WithSelectors(signals.NewContext(), pipelineschedule.RunSelector)
	if !*probes {
		ctx = sharedmain.WithHealthProbesDisabled(ctx)
	}
	if *disableHA {
		ctx = sharedmain.WithHADisabled(ctx)
	}
	ctors := []injection.ControllerConstructor{
		pipelineschedule.NewController(pipelineschedule.Options{StatusSyncPeriod: *statusSync, EagerStatusQPS: *eagerQPS, EagerStatusBurst: *eagerBurst}, clock.RealClock{}),
	}
	if *serveWebhook {
		ctx = admission.WithOptions(ctx)
		ctors = append(ctors, admission.Controllers(clock.RealClock{})...)
	}
	sharedmain.MainWithConfig(ctx, pipelineschedule.ControllerName, cfg, ctors...)
}
