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
	"time"

	mlpipescheme "github.com/mlpipe/mlpipe/pkg/client/clientset/versioned/scheme"
	mlpipeclient "github.com/mlpipe/mlpipe/pkg/client/injection/client"
	scheduleinformer "github.com/mlpipe/mlpipe/pkg/client/injection/informers/mlpipe/v1alpha1/pipelineschedule"
	"github.com/mlpipe/mlpipe/pkg/policy"
	"github.com/mlpipe/mlpipe/pkg/reconciler/pipelineschedule/resources"
	pipelineclient "github.com/tektoncd/pipeline/pkg/client/injection/client"
	filteredruninformer "github.com/tektoncd/pipeline/pkg/client/injection/informers/pipeline/v1/pipelinerun/filtered"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"
	kubeclient "knative.dev/pkg/client/injection/kube/client"
	"knative.dev/pkg/configmap"
	"knative.dev/pkg/controller"
	"knative.dev/pkg/injection"
	"knative.dev/pkg/logging"
	"knative.dev/pkg/reconciler"
)

// ControllerName names the controller in logs and leader election.
const ControllerName = "pipelineschedule-controller"

// RunSelector selects the PipelineRuns the controller watches: every run of a Pipeline.
// Pass it to filteredinformerfactory.WithSelectors before injection starts.
const RunSelector = policy.PipelineLabel

// Index names of the PipelineRun cache.
const (
	// ScheduleIndex keys runs by <namespace>/<schedule> (the mlpipe.dev/schedule label).
	ScheduleIndex = "mlpipe.dev/schedule"
	// PipelineIndex keys runs by <namespace>/<pipeline> (the tekton.dev/pipeline label).
	PipelineIndex = "tekton.dev/pipeline"
)

// RunIndexers are the indexes the reconciler reads the PipelineRun cache through.
func RunIndexers() cache.Indexers {
	byLabel := func(label string) cache.IndexFunc {
		return func(obj any) ([]string, error) {
			m, ok := obj.(metav1.Object)
			if !ok {
				return nil, nil
			}
			v, has := m.GetLabels()[label]
			if !has {
				return nil, nil
			}
			return []string{m.GetNamespace() + "/" + v}, nil
		}
	}
	return cache.Indexers{ScheduleIndex: byLabel(resources.ScheduleLabel), PipelineIndex: byLabel(policy.PipelineLabel)}
}

// RunTransform is the PipelineRun cache's transform: it keeps only what the reconciler reads (owner, the
// scheduled-time annotation, start and completion times, conditions), so thousands of runs stay cheap to cache.
func RunTransform() cache.TransformFunc {
	return policy.SlimRun(resources.ScheduledTimeAnnotation)
}

// Options configure the controller.
type Options struct {
	// StatusSyncPeriod: see Reconciler.StatusSyncPeriod.
	StatusSyncPeriod time.Duration
	// EagerStatusQPS and EagerStatusBurst size Reconciler.EagerStatus; a QPS of 0 coalesces
	// every per-slot status write.
	EagerStatusQPS   float64
	EagerStatusBurst int
}

// NewController returns the constructor sharedmain calls.
func NewController(opts Options, clk clock.PassiveClock) injection.ControllerConstructor {
	return func(ctx context.Context, _ configmap.Watcher) *controller.Impl {
		logger := logging.FromContext(ctx)
		schedules := scheduleinformer.Get(ctx)
		runs := filteredruninformer.Get(ctx, RunSelector)
		if err := runs.Informer().SetTransform(RunTransform()); err != nil {
			logger.Fatalw("error setting the PipelineRun transform", "error", err)
		}
		if err := runs.Informer().AddIndexers(RunIndexers()); err != nil {
			logger.Fatalw("error indexing PipelineRuns", "error", err)
		}
		metrics, err := NewMetrics(nil)
		if err != nil {
			logger.Fatalw("error creating metrics", "error", err)
		}
		r := &Reconciler{
			MLPipe:           mlpipeclient.Get(ctx),
			Tekton:           pipelineclient.Get(ctx),
			ScheduleLister:   schedules.Lister(),
			RunLister:        runs.Lister(),
			RunIndexer:       runs.Informer().GetIndexer(),
			StartedAt:        clk.Now(),
			Recorder:         eventRecorder(ctx),
			Clock:            clk,
			StatusSyncPeriod: opts.StatusSyncPeriod,
			Metrics:          metrics,
		}
		if opts.EagerStatusQPS > 0 {
			r.EagerStatus = rate.NewLimiter(rate.Limit(opts.EagerStatusQPS), max(opts.EagerStatusBurst, 1))
		}
		impl := controller.NewContext(ctx, r, controller.ControllerOptions{WorkQueueName: "PipelineSchedules", Logger: logger})
		r.EnqueueAfter = impl.EnqueueKeyAfter
		r.LeaderAwareFuncs = reconciler.LeaderAwareFuncs{
			PromoteFunc: func(bkt reconciler.Bucket, enq func(reconciler.Bucket, types.NamespacedName)) error {
				all, err := schedules.Lister().List(labels.Everything())
				if err != nil {
					return err
				}
				for _, s := range all {
					enq(bkt, types.NamespacedName{Namespace: s.Namespace, Name: s.Name})
				}
				return nil
			},
		}
		// Our own status writes come back as updates: only spec changes (and adds/deletes) need a reconcile.
		schedules.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc: impl.Enqueue,
			UpdateFunc: func(old, cur any) {
				o, ok1 := old.(metav1.Object)
				c, ok2 := cur.(metav1.Object)
				if !ok1 || !ok2 || o.GetGeneration() != c.GetGeneration() {
					impl.Enqueue(cur)
				}
			},
			DeleteFunc: impl.Enqueue,
		})
		// A finished run is reflected at the schedule's next reconcile (its next slot, or the
		// status sync period): watching runs does not cost a reconcile per run event.
		return impl
	}
}

// eventRecorder returns the recorder in ctx, or one that writes Events through the API
// (the correlator aggregates repeats, so a noisy schedule cannot flood the API server).
func eventRecorder(ctx context.Context) record.EventRecorder {
	if r := controller.GetEventRecorder(ctx); r != nil {
		return r
	}
	b := record.NewBroadcaster()
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: kubeclient.Get(ctx).CoreV1().Events("")})
	go func() {
		<-ctx.Done()
		b.Shutdown()
	}()
	return b.NewRecorder(mlpipescheme.Scheme, corev1.EventSource{Component: ControllerName})
}
