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

package schedule

import (
	"context"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/mlpipe/mlpipe/pkg/apis/mlpipe/v1alpha1"
	mlpipeclient "github.com/mlpipe/mlpipe/pkg/client/clientset/versioned"
	mlpipescheme "github.com/mlpipe/mlpipe/pkg/client/clientset/versioned/scheme"
	mlpipeinformers "github.com/mlpipe/mlpipe/pkg/client/informers/externalversions"
	"github.com/mlpipe/mlpipe/pkg/policy"
	"github.com/mlpipe/mlpipe/pkg/reconciler/pipelineschedule"
	"github.com/mlpipe/mlpipe/pkg/reconciler/pipelineschedule/resources"
	"github.com/mlpipe/mlpipe/test/cluster"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	tektoninformers "github.com/tektoncd/pipeline/pkg/client/informers/externalversions"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	clocktesting "k8s.io/utils/clock/testing"
	"knative.dev/pkg/apis"
	"knative.dev/pkg/reconciler"
)

// installScheduleCRD applies config/300-pipelineschedule.yaml and waits until it is served.
func installScheduleCRD(t *testing.T, c *cluster.Cluster) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	root, err := cluster.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ApplyFiles(ctx, "", filepath.Join(root, "config", "300-pipelineschedule.yaml")); err != nil {
		t.Fatal(err)
	}
	gvr := apiextensionsv1.SchemeGroupVersion.WithResource("customresourcedefinitions")
	err = wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		u, err := c.Dynamic.Resource(gvr).Get(ctx, "pipelineschedules.mlpipe.dev", metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		conds, _, _ := unstructuredConditions(u.Object)
		return conds["Established"] == "True", nil
	})
	if err != nil {
		t.Fatalf("PipelineSchedule CRD not established: %v", err)
	}
}

func unstructuredConditions(obj map[string]any) (map[string]string, bool, error) {
	out := map[string]string{}
	status, _ := obj["status"].(map[string]any)
	conds, _ := status["conditions"].([]any)
	for _, c := range conds {
		m, _ := c.(map[string]any)
		out[m["type"].(string)] = m["status"].(string)
	}
	return out, len(out) > 0, nil
}

// replica is one controller instance running in-process on a controllable clock, with its
// own informers, as a separate process would have.
type replica struct {
	r      *pipelineschedule.Reconciler
	stop   context.CancelFunc
	synced func() bool
}

func startReplica(t *testing.T, c *cluster.Cluster, clk *clocktesting.FakeClock) *replica {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	mc := mlpipeclient.NewForConfigOrDie(c.Config)
	mf := mlpipeinformers.NewSharedInformerFactory(mc, 0)
	tf := tektoninformers.NewSharedInformerFactoryWithOptions(c.Tekton, 0, tektoninformers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.LabelSelector = pipelineschedule.RunSelector
	}))
	schedules := mf.Mlpipe().V1alpha1().PipelineSchedules()
	runs := tf.Tekton().V1().PipelineRuns()
	if err := runs.Informer().SetTransform(pipelineschedule.RunTransform()); err != nil {
		t.Fatal(err)
	}
	if err := runs.Informer().AddIndexers(pipelineschedule.RunIndexers()); err != nil {
		t.Fatal(err)
	}
	b := record.NewBroadcaster()
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: c.Kube.CoreV1().Events("")})
	r := &pipelineschedule.Reconciler{
		MLPipe: mc, Tekton: c.Tekton,
		ScheduleLister: schedules.Lister(), RunLister: runs.Lister(), RunIndexer: runs.Informer().GetIndexer(),
		StartedAt: clk.Now(),
		Recorder:  b.NewRecorder(mlpipescheme.Scheme, corev1.EventSource{Component: "test"}),
		Clock:     clk, StatusSyncPeriod: 5 * time.Minute,
	}
	if err := r.Promote(reconciler.UniversalBucket(), func(reconciler.Bucket, types.NamespacedName) {}); err != nil {
		t.Fatal(err)
	}
	mf.Start(ctx.Done())
	tf.Start(ctx.Done())
	rep := &replica{r: r, stop: func() { cancel(); b.Shutdown() }, synced: func() bool {
		return schedules.Informer().HasSynced() && runs.Informer().HasSynced()
	}}
	if !cache.WaitForCacheSync(ctx.Done(), schedules.Informer().HasSynced, runs.Informer().HasSynced) {
		t.Fatal("informers did not sync")
	}
	t.Cleanup(rep.stop)
	return rep
}

// cached waits until the replica's run cache holds run name in ns and ok accepts it: the reconcile that
// follows reads what the cache holds, so the test waits for the cache, not for a fixed time.
func cached(t *testing.T, rep *replica, ns, name string, ok func(*pipelinev1.PipelineRun) bool) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 10*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		pr, err := rep.r.RunLister.PipelineRuns(ns).Get(name)
		return err == nil && ok(pr), nil
	})
	if err != nil {
		t.Fatalf("the replica's cache never showed run %s/%s as wanted: %v", ns, name, err)
	}
}

// started accepts a run Tekton's controller has started (it set the Succeeded condition).
func started(pr *pipelinev1.PipelineRun) bool {
	return pr.Status.GetCondition(apis.ConditionSucceeded) != nil
}

// present accepts any run.
func present(*pipelinev1.PipelineRun) bool { return true }

// done accepts a finished run.
func done(pr *pipelinev1.PipelineRun) bool { return pr.IsDone() }

func scheduleRuns(t *testing.T, c *cluster.Cluster, ns, schedule string) []*pipelinev1.PipelineRun {
	t.Helper()
	list, err := c.Tekton.TektonV1().PipelineRuns(ns).List(context.Background(), metav1.ListOptions{LabelSelector: resources.ScheduleLabel + "=" + schedule})
	if err != nil {
		t.Fatal(err)
	}
	var out []*pipelinev1.PipelineRun
	for i := range list.Items {
		out = append(out, &list.Items[i])
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func applySchedulePipeline(t *testing.T, c *cluster.Cluster, ns string) {
	t.Helper()
	const yaml = `apiVersion: tekton.dev/v1
kind: Task
metadata: {name: work}
spec:
  params: [{name: as-of, type: string, default: ""}]
  steps:
    - name: work
      image: busybox
      env: [{name: AS_OF, value: $(params.as-of)}]
      script: |
        echo "$AS_OF"
---
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: churn}
spec:
  params: [{name: as-of, type: string, default: ""}]
  tasks:
    - name: work
      taskRef: {name: work}
      params: [{name: as-of, value: $(params.as-of)}]
`
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.ApplyYAML(ctx, ns, []byte(yaml)); err != nil {
		t.Fatal(err)
	}
}

func newSchedule(t *testing.T, c *cluster.Cluster, ns, name, expr string, mods ...func(*v1alpha1.PipelineSchedule)) *v1alpha1.PipelineSchedule {
	t.Helper()
	s := &v1alpha1.PipelineSchedule{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: v1alpha1.PipelineScheduleSpec{
			Schedule: expr,
			PipelineRunTemplate: v1alpha1.PipelineRunTemplate{
				PipelineRef: &pipelinev1.PipelineRef{Name: "churn"},
				Params:      pipelinev1.Params{{Name: "as-of", Value: *pipelinev1.NewStructuredValues("$(context.scheduledTime)")}},
			},
		},
	}
	for _, m := range mods {
		m(s)
	}
	created, err := mlpipeclient.NewForConfigOrDie(c.Config).MlpipeV1alpha1().PipelineSchedules(ns).Create(context.Background(), s, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return created
}

func reconcileAt(t *testing.T, rep *replica, clk *clocktesting.FakeClock, at time.Time, key string) {
	t.Helper()
	clk.SetTime(at)
	if err := rep.r.Reconcile(context.Background(), key); err != nil {
		t.Fatalf("Reconcile at %s: %v", at.Format(time.RFC3339), err)
	}
}

func TestScheduleExactlyOnceOnRealAPIServer(t *testing.T) {
	c := cluster.Start(t)
	installScheduleCRD(t, c)
	ns := c.NewNamespace(t, false)
	applySchedulePipeline(t, c, ns)
	s := newSchedule(t, c, ns, "nightly", "*/5 * * * *", func(s *v1alpha1.PipelineSchedule) {
		p := v1alpha1.AllowConcurrent
		s.Spec.ConcurrencyPolicy = p
	})
	created := s.CreationTimestamp.Time.UTC()
	slot1 := created.Truncate(5 * time.Minute).Add(5 * time.Minute)
	key := ns + "/nightly"
	clk := clocktesting.NewFakeClock(created)

	t.Run("killed between create and status update: the restarted controller does not run the slot again", func(t *testing.T) {
		a := startReplica(t, c, clk)
		clk.SetTime(slot1.Add(time.Second))
		sched, err := a.r.ScheduleLister.PipelineSchedules(ns).Get("nightly")
		if err != nil {
			t.Fatal(err)
		}
		// ReconcileKind creates the run but writes no status: the process "dies" here.
		if _, err := a.r.ReconcileKind(context.Background(), sched.DeepCopy()); err != nil {
			t.Fatal(err)
		}
		a.stop()
		b := startReplica(t, c, clk)
		reconcileAt(t, b, clk, slot1.Add(3*time.Second), key)
		if runs := scheduleRuns(t, c, ns, "nightly"); len(runs) != 1 || runs[0].Name != resources.RunName("nightly", slot1) {
			t.Fatalf("runs after a crash and restart = %v, want exactly the slot's", runNames(runs))
		}
	})

	t.Run("two replicas with leader election off: one run per slot", func(t *testing.T) {
		a, b := startReplica(t, c, clk), startReplica(t, c, clk)
		slot2 := slot1.Add(5 * time.Minute)
		clk.SetTime(slot2.Add(time.Second))
		var wg sync.WaitGroup
		for _, rep := range []*replica{a, b} {
			wg.Add(1)
			go func(rep *replica) {
				defer wg.Done()
				if err := rep.r.Reconcile(context.Background(), key); err != nil {
					t.Errorf("Reconcile: %v", err)
				}
			}(rep)
		}
		wg.Wait()
		for _, rep := range []*replica{a, b} {
			cached(t, rep, ns, resources.RunName("nightly", slot2), present)
		}
		for _, rep := range []*replica{a, b} {
			reconcileAt(t, rep, clk, slot2.Add(10*time.Second), key)
		}
		if runs := scheduleRuns(t, c, ns, "nightly"); len(runs) != 2 {
			t.Fatalf("runs after two replicas reconciled slot 2 = %v, want 2 (slots 1 and 2)", runNames(runs))
		}
	})

	t.Run("2 hours of downtime: one catch-up within the deadline, none outside it", func(t *testing.T) {
		// Allow: the runs of the earlier subtests are still active (no kubelet ran them).
		within := newSchedule(t, c, ns, "within", "0 * * * *", func(s *v1alpha1.PipelineSchedule) {
			d := int64(600)
			s.Spec.StartingDeadlineSeconds = &d
			s.Spec.ConcurrencyPolicy = v1alpha1.AllowConcurrent
		})
		newSchedule(t, c, ns, "outside", "0 * * * *", func(s *v1alpha1.PipelineSchedule) {
			d := int64(60)
			s.Spec.StartingDeadlineSeconds = &d
			s.Spec.ConcurrencyPolicy = v1alpha1.AllowConcurrent
		})
		base := within.CreationTimestamp.Time.UTC()
		lastSlot := base.Truncate(time.Hour).Add(2 * time.Hour)
		// The controller comes back after the downtime.
		clk.SetTime(lastSlot.Add(5 * time.Minute))
		rep := startReplica(t, c, clk)
		reconcileAt(t, rep, clk, lastSlot.Add(5*time.Minute), ns+"/within")
		reconcileAt(t, rep, clk, lastSlot.Add(5*time.Minute), ns+"/outside")
		if runs := scheduleRuns(t, c, ns, "within"); len(runs) != 1 || runs[0].Name != resources.RunName("within", lastSlot) {
			t.Errorf("within the deadline: runs = %v, want one for the latest slot %s", runNames(runs), lastSlot)
		}
		if runs := scheduleRuns(t, c, ns, "outside"); len(runs) != 0 {
			t.Errorf("outside the deadline: runs = %v, want none", runNames(runs))
		}
	})
}

func TestSchedulePoliciesWithTektonController(t *testing.T) {
	c := cluster.Start(t)
	installScheduleCRD(t, c)
	tests := []struct {
		policy      v1alpha1.ConcurrencyPolicy
		wantRuns    int
		wantCancel  bool
		wantSkipped bool
	}{
		{policy: v1alpha1.ForbidConcurrent, wantRuns: 1, wantSkipped: true},
		{policy: v1alpha1.ReplaceConcurrent, wantRuns: 2, wantCancel: true},
		{policy: v1alpha1.AllowConcurrent, wantRuns: 2},
	}
	for _, tt := range tests {
		t.Run(string(tt.policy), func(t *testing.T) {
			ns := c.NewNamespace(t, false)
			applySchedulePipeline(t, c, ns)
			s := newSchedule(t, c, ns, "hourly", "0 * * * *", func(s *v1alpha1.PipelineSchedule) { s.Spec.ConcurrencyPolicy = tt.policy })
			clk := clocktesting.NewFakeClock(s.CreationTimestamp.Time)
			rep := startReplica(t, c, clk)
			slot1 := s.CreationTimestamp.Time.UTC().Truncate(time.Hour).Add(time.Hour)
			key := ns + "/hourly"
			reconcileAt(t, rep, clk, slot1.Add(time.Second), key)
			first := resources.RunName("hourly", slot1)
			// Tekton's real controller starts it: its TaskRun appears and it stays running (no kubelet yet).
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if _, err := c.WaitForPipelineRun(ctx, ns, first, func(pr *pipelinev1.PipelineRun) (bool, error) {
				return len(pr.Status.ChildReferences) > 0, nil
			}); err != nil {
				t.Fatal(err)
			}
			cached(t, rep, ns, first, started)
			slot2 := slot1.Add(time.Hour)
			reconcileAt(t, rep, clk, slot2.Add(time.Second), key)
			runs := scheduleRuns(t, c, ns, "hourly")
			if len(runs) != tt.wantRuns {
				t.Fatalf("%s: runs after slot 2 = %v, want %d", tt.policy, runNames(runs), tt.wantRuns)
			}
			if tt.wantCancel {
				pr, err := c.WaitForPipelineRun(ctx, ns, first, cluster.PipelineRunDone)
				if err != nil {
					t.Fatal(err)
				}
				if cond := pr.Status.GetCondition("Succeeded"); pr.Spec.Status != pipelinev1.PipelineRunSpecStatusCancelledRunFinally || cond.GetReason() != pipelinev1.PipelineRunReasonCancelled.String() {
					t.Errorf("Replace: first run spec.status=%q, condition %v; want CancelledRunFinally and Tekton to have cancelled it", pr.Spec.Status, cond)
				}
			}
			if tt.wantSkipped {
				evs, _ := c.Kube.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
				found := false
				for _, e := range evs.Items {
					found = found || e.Reason == pipelineschedule.ReasonSkippedByPolicy
				}
				if !found {
					t.Error("Forbid: no SkippedByConcurrencyPolicy event")
				}
				// Once the active run finishes, the next slot starts again.
				if _, err := c.DrivePipelineRun(ctx, ns, first, cluster.Outcomes{}); err != nil {
					t.Fatal(err)
				}
				cached(t, rep, ns, first, done)
				reconcileAt(t, rep, clk, slot2.Add(time.Hour+time.Second), key)
				if runs := scheduleRuns(t, c, ns, "hourly"); len(runs) != 2 {
					t.Errorf("Forbid: runs after the active run finished = %v, want 2", runNames(runs))
				}
			}
			var active []string
			for _, r := range policy.Active(scheduleRuns(t, c, ns, "hourly")) {
				active = append(active, r.Name)
			}
			t.Logf("%s: runs %v, active %v", tt.policy, runNames(scheduleRuns(t, c, ns, "hourly")), active)
		})
	}
}

func runNames(runs []*pipelinev1.PipelineRun) []string {
	out := []string{}
	for _, r := range runs {
		out = append(out, r.Name)
	}
	return out
}
