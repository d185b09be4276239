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
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mlpipe/mlpipe/pkg/apis/mlpipe/v1alpha1"
	mlpipeclient "github.com/mlpipe/mlpipe/pkg/client/clientset/versioned"
	"github.com/mlpipe/mlpipe/pkg/reconciler/pipelineschedule"
	"github.com/mlpipe/mlpipe/test/cluster"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/clientcmd"
	clocktesting "k8s.io/utils/clock/testing"
	"knative.dev/pkg/apis"
)

// invalidSchedule is wrong in two fields that the CRD schema lets through and PipelineSchedule.Validate refuses:
// a minute of 61, and a run param that reads a task result (which a PipelineRun cannot).
const invalidSchedule = `apiVersion: mlpipe.dev/v1alpha1
kind: PipelineSchedule
metadata: {name: broken}
spec:
  schedule: "61 * * * *"
  pipelineRunTemplate:
    pipelineRef: {name: churn}
    params:
      - {name: as-of, value: "$(tasks.train.results.model)"}
`

// The errors Validate gives for invalidSchedule, each naming its field.
const (
	wantScheduleError = `invalid value: invalid cron expression "61 * * * *": end of range (61) above maximum (59): 61: spec.schedule`
	wantParamError    = `invalid value: cannot use result expressions in [tasks.train.results.model] as PipelineRun parameter values: spec.pipelineRunTemplate.params[as-of].value`
)

const validSchedule = `apiVersion: mlpipe.dev/v1alpha1
kind: PipelineSchedule
metadata: {name: nightly}
spec:
  schedule: "0 2 * * *"
  pipelineRunTemplate:
    pipelineRef: {name: churn}
    params:
      - {name: as-of, value: "$(context.scheduledTime)"}
`

// TestScheduleWebhookOnRealAPIServer runs cmd/controller --webhook against a real kube-apiserver, with the
// webhook objects of config/ as shipped: kubectl apply of an invalid PipelineSchedule is refused with the fields
// named, a valid one is stored with the defaults filled in, and an edit that breaks it is refused.
func TestScheduleWebhookOnRealAPIServer(t *testing.T) {
	host, err := cluster.HostIP()
	if err != nil {
		cluster.Unavailable(t, "no address of this machine for the webhook's EndpointSlice: "+err.Error())
	}
	c := cluster.Start(t, cluster.WithAggregatorRouting(), cluster.WithTools("kubectl"))
	installScheduleCRD(t, c)
	root, err := cluster.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const system = "mlpipe"
	// The controller's namespace, ConfigMaps, ServiceAccount, RBAC and webhook objects, as shipped; the controller
	// runs as its ServiceAccount (impersonated), so the RBAC of config/ is what it gets.
	var files []string
	for _, f := range []string{"100-namespace.yaml", "200-serviceaccount.yaml", "200-clusterrole.yaml", "200-role.yaml",
		"201-clusterrolebinding.yaml", "201-rolebinding.yaml", "config-logging.yaml", "config-observability.yaml", "500-webhooks.yaml"} {
		files = append(files, filepath.Join(root, "config", f))
	}
	if _, err := c.ApplyFiles(ctx, "", files...); err != nil {
		t.Fatal(err)
	}
	kubeconfig := impersonating(t, c.Kubeconfig, "system:serviceaccount:"+system+":mlpipe-controller")
	port := freePort(t)
	// No kubelet runs the controller's Pod here: the webhook Service's endpoint is this machine, where the test
	// runs the controller. The API server reaches it through the EndpointSlice (aggregator routing).
	portName, proto, ready := "https-webhook", corev1.ProtocolTCP, true
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: "mlpipe-controller-webhook-host", Namespace: system,
			Labels: map[string]string{discoveryv1.LabelServiceName: "mlpipe-controller-webhook"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{host}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}},
		Ports:       []discoveryv1.EndpointPort{{Name: &portName, Port: ptr(int32(port)), Protocol: &proto}},
	}
	if _, err := c.Kube.DiscoveryV1().EndpointSlices(system).Create(ctx, slice, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	bin := filepath.Join(t.TempDir(), "controller")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/controller")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/controller: %v\n%s", err, out)
	}
	cluster.RunProcess(t, filepath.Join(t.TempDir(), "controller.log"), bin, []string{"--kubeconfig", kubeconfig, "--disable-ha", "--health-probes=false", "--webhook"},
		"SYSTEM_NAMESPACE="+system, "WEBHOOK_PORT="+strconv.Itoa(port),
		"METRICS_PROMETHEUS_PORT="+strconv.Itoa(freePort(t)), "PROFILING_PORT="+strconv.Itoa(freePort(t)))

	ns := c.NewNamespace(t, false)
	dir := t.TempDir()
	invalid, valid := filepath.Join(dir, "broken.yaml"), filepath.Join(dir, "nightly.yaml")
	for path, data := range map[string]string{invalid: invalidSchedule, valid: validSchedule} {
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	// config/ ships the webhook configurations without rules: until the controller has made its certificate and
	// filled in rules and CA bundles, they match nothing.
	err = wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		v, err := c.Kube.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, "validation.webhook.mlpipe.dev", metav1.GetOptions{})
		if err != nil || len(v.Webhooks) != 1 || len(v.Webhooks[0].Rules) == 0 || len(v.Webhooks[0].ClientConfig.CABundle) == 0 {
			return false, nil
		}
		m, err := c.Kube.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, "webhook.mlpipe.dev", metav1.GetOptions{})
		return err == nil && len(m.Webhooks) == 1 && len(m.Webhooks[0].Rules) > 0 && len(m.Webhooks[0].ClientConfig.CABundle) > 0, nil
	})
	if err != nil {
		t.Fatalf("the controller did not fill in the webhook configurations: %v", err)
	}
	// The API server may not have seen the new configurations yet; while it has not reached the webhook, a write
	// is refused for another reason (failurePolicy Fail) or, before it sees the rules, let through.
	var out []byte
	err = wait.PollUntilContextCancel(ctx, 500*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		out, err = c.Kubectl(ctx, "apply", "-n", ns, "-f", invalid)
		if err == nil {
			return false, errors.New("kubectl apply of an invalid PipelineSchedule succeeded:\n" + string(out))
		}
		return strings.Contains(string(out), "denied the request"), nil
	})
	if err != nil {
		t.Fatalf("the webhook never answered: %v; last kubectl output:\n%s", err, out)
	}
	t.Run("invalid schedule refused, fields named", func(t *testing.T) {
		msg := string(out)
		t.Logf("kubectl apply -f broken.yaml:\n%s", msg)
		for _, want := range []string{`admission webhook "validation.webhook.mlpipe.dev" denied the request`, wantScheduleError, wantParamError} {
			if !strings.Contains(msg, want) {
				t.Errorf("kubectl apply output lacks %q:\n%s", want, msg)
			}
		}
		if _, err := mlpipeclient.NewForConfigOrDie(c.Config).MlpipeV1alpha1().PipelineSchedules(ns).Get(ctx, "broken", metav1.GetOptions{}); err == nil {
			t.Error("the refused PipelineSchedule exists")
		}
	})

	mc := mlpipeclient.NewForConfigOrDie(c.Config).MlpipeV1alpha1().PipelineSchedules(ns)
	t.Run("valid schedule accepted and defaulted", func(t *testing.T) {
		if out, err := c.Kubectl(ctx, "apply", "-n", ns, "-f", valid); err != nil {
			t.Fatalf("kubectl apply of a valid PipelineSchedule: %v\n%s", err, out)
		}
		got, err := mc.Get(ctx, "nightly", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// The CRD has no defaults: these come from the mutating webhook (SetDefaults).
		spec := got.Spec
		if spec.TimeZone != "UTC" || spec.ConcurrencyPolicy != v1alpha1.ForbidConcurrent ||
			spec.SuccessfulRunsHistoryLimit == nil || *spec.SuccessfulRunsHistoryLimit != 3 ||
			spec.FailedRunsHistoryLimit == nil || *spec.FailedRunsHistoryLimit != 1 {
			t.Errorf("stored spec = %+v, want timeZone UTC, concurrencyPolicy Forbid, history limits 3 and 1", spec)
		}
		// The same binary reconciles it: ScheduleValid True.
		err = wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
			s, err := mc.Get(ctx, "nightly", metav1.GetOptions{})
			return err == nil && s.Status.GetCondition(v1alpha1.ConditionScheduleValid).IsTrue(), nil
		})
		if err != nil {
			t.Errorf("ScheduleValid never became True: %v", err)
		}
	})

	t.Run("edit that breaks it refused", func(t *testing.T) {
		broken := strings.Replace(validSchedule, `"0 2 * * *"`, `"0 2 * *"`, 1)
		path := filepath.Join(dir, "nightly-broken.yaml")
		if err := os.WriteFile(path, []byte(broken), 0o600); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		out, err := c.Kubectl(ctx, "apply", "-n", ns, "-f", path)
		t.Logf("kubectl apply of the broken edit (%s):\n%s", time.Since(start).Round(time.Millisecond), out)
		want := `invalid value: invalid cron expression "0 2 * *": expected exactly 5 fields, found 4: [0 2 * *]: spec.schedule`
		if err == nil || !strings.Contains(string(out), want) {
			t.Errorf("kubectl apply of a broken edit: err %v, output:\n%s\nwant it refused with %q", err, out, want)
		}
		if got, err := mc.Get(ctx, "nightly", metav1.GetOptions{}); err != nil || got.Spec.Schedule != "0 2 * * *" {
			t.Errorf("stored schedule after the refused edit = %v, %v; want 0 2 * * *", got, err)
		}
	})
}

// TestScheduleInvalidWithoutWebhook: with no webhook the API server stores an invalid PipelineSchedule; the
// reconciler, at a due slot, marks it Ready=False naming the fields, records a Warning Event and starts no
// PipelineRun.
func TestScheduleInvalidWithoutWebhook(t *testing.T) {
	c := cluster.Start(t)
	installScheduleCRD(t, c)
	ns := c.NewNamespace(t, false)
	applySchedulePipeline(t, c, ns)
	// Every minute: the slot after creation is due below. Only the param is wrong.
	s := newSchedule(t, c, ns, "broken", "* * * * *", func(s *v1alpha1.PipelineSchedule) {
		s.Spec.ConcurrencyPolicy = v1alpha1.AllowConcurrent
		s.Spec.PipelineRunTemplate.Params = pipelinev1.Params{{Name: "as-of", Value: *pipelinev1.NewStructuredValues("$(tasks.train.results.model)")}}
	})
	slot := s.CreationTimestamp.Time.UTC().Truncate(time.Minute).Add(time.Minute)
	clk := clocktesting.NewFakeClock(s.CreationTimestamp.Time)
	rep := startReplica(t, c, clk)
	clk.SetTime(slot.Add(time.Second))
	err := rep.r.Reconcile(context.Background(), ns+"/broken")
	if err == nil {
		t.Fatal("Reconcile of an invalid schedule succeeded")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got, err := mlpipeclient.NewForConfigOrDie(c.Config).MlpipeV1alpha1().PipelineSchedules(ns).Get(ctx, "broken", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ready := got.Status.GetCondition(apis.ConditionReady)
	if ready == nil || ready.Status != corev1.ConditionFalse || ready.Reason != pipelineschedule.ReasonInvalidSchedule || ready.Message != wantParamError {
		t.Errorf("Ready = %+v, want False, %s, %q", ready, pipelineschedule.ReasonInvalidSchedule, wantParamError)
	}
	var event *corev1.Event
	err = wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		evs, err := c.Kube.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, nil
		}
		for i := range evs.Items {
			if e := &evs.Items[i]; e.InvolvedObject.Name == "broken" && e.Reason == pipelineschedule.ReasonInvalidSchedule {
				event = e
			}
		}
		return event != nil, nil
	})
	if err != nil {
		t.Fatalf("no %s Event: %v", pipelineschedule.ReasonInvalidSchedule, err)
	}
	if event.Type != corev1.EventTypeWarning || event.Message != wantParamError {
		t.Errorf("Event = %s %q, want Warning %q", event.Type, event.Message, wantParamError)
	}
	if runs, err := c.Tekton.TektonV1().PipelineRuns(ns).List(ctx, metav1.ListOptions{}); err != nil || len(runs.Items) != 0 {
		t.Errorf("PipelineRuns in the namespace = %v (%v), want none", len(runs.Items), err)
	}
}

func ptr[T any](v T) *T { return &v }

// impersonating writes a copy of kubeconfig whose users act as user (RBAC binds a ServiceAccount's subject to
// its user name) and returns its path.
func impersonating(t *testing.T, kubeconfig, user string) string {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range cfg.AuthInfos {
		a.Impersonate = user
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

func freePort(t *testing.T) int {
	t.Helper()
	p, err := cluster.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}
