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

// Package cluster runs a real Kubernetes control plane with Tekton Pipelines for integration tests.
//
// Start brings up etcd and kube-apiserver through envtest (built by hack/build-tools.sh, on free loopback
// ports), installs Tekton's CRDs from the module cache (the version in go.mod), creates the tekton-pipelines
// namespace with Tekton's ConfigMaps, and runs Tekton's real controller binary against it. No kubelet, scheduler
// or kube-controller-manager runs: the harness plays the kubelet (CompleteTaskRun, RunPipelineRun), so Tekton's
// own controller extracts results and decides `when` and `finally`; it also creates each namespace's `default`
// ServiceAccount, as kube-controller-manager would. Everything stops when the test ends, even when it fails.
//
// Tekton's admission webhooks do not run: validate objects in Go before applying them, and use tekton.dev/v1
// (the storage version: the CRDs' conversion webhook does not exist here). Namespaces never finish deleting
// (no garbage collector), so each test takes its own from NewNamespace.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	versioned "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

// Options configure a Cluster.
type Options struct {
	// Triggers also installs Tekton Triggers' CRDs (config/300-*.yaml of the github.com/tektoncd/triggers module
	// in go.mod). Triggers' controllers are not started.
	Triggers bool
	// FeatureFlags overrides keys of Tekton's feature-flags ConfigMap, for example
	// {"set-security-context": "true"} (needed for Tekton's own init containers to pass the restricted Pod
	// Security profile) or {"enable-cel-in-whenexpression": "true"}.
	FeatureFlags map[string]string
	// Dir holds the kubeconfig and the logs. Empty: a new temporary directory that Stop removes.
	Dir string
	// Tools are the binaries to run. Zero: FindTools.
	Tools Tools
	// NeedTools names optional tools ("kubectl", "tkn", "minio") the test uses: Start skips the test when one of
	// them is not built.
	NeedTools []string
	// Logf receives progress messages. Nil: discarded.
	Logf func(format string, args ...any)
	// RealNode runs a real node beside the control plane (node.go): kube-controller-manager, kube-scheduler,
	// containerd and a kubelet that run the Pods Tekton creates, with Tekton's own images and mlpipe-step's image
	// built here. It needs root and cgroups; see RealNodeUnavailable.
	RealNode bool
	// AggregatorRouting starts kube-apiserver with --enable-aggregator-routing=true: it then calls an admission
	// webhook's Service at an address of the Service's EndpointSlices rather than at its cluster IP (which
	// nothing routes here), so a webhook served by a process on this host is reachable through a Service whose
	// EndpointSlice names this machine's address (HostIP; EndpointSlices refuse loopback addresses).
	AggregatorRouting bool
}

// Option changes Options; Start takes a list of them.
type Option func(*Options)

// WithTriggers installs Tekton Triggers' CRDs as well.
func WithTriggers() Option { return func(o *Options) { o.Triggers = true } }

// WithTools makes Start skip the test unless these optional tools ("kubectl", "tkn", "minio") are built too.
func WithTools(names ...string) Option {
	return func(o *Options) { o.NeedTools = append(o.NeedTools, names...) }
}

// WithRealNode runs a real node: Pods run as containers (see Options.RealNode).
func WithRealNode() Option { return func(o *Options) { o.RealNode = true } }

// WithAggregatorRouting makes kube-apiserver reach webhook Services through their EndpointSlices (see
// Options.AggregatorRouting).
func WithAggregatorRouting() Option { return func(o *Options) { o.AggregatorRouting = true } }

// WithFeatureFlags overrides keys of Tekton's feature-flags ConfigMap.
func WithFeatureFlags(flags map[string]string) Option {
	return func(o *Options) {
		if o.FeatureFlags == nil {
			o.FeatureFlags = map[string]string{}
		}
		for k, v := range flags {
			o.FeatureFlags[k] = v
		}
	}
}

// Timings says how long each part of New took.
type Timings struct {
	// ControlPlane is etcd + kube-apiserver up and serving.
	ControlPlane time.Duration
	// CRDs is Tekton's (and Triggers') CRDs installed and established.
	CRDs time.Duration
	// Controller is Tekton's ConfigMaps created and its controller started, holding its leases.
	Controller time.Duration
}

// Total is the time from nothing to a control plane that runs PipelineRuns.
func (t Timings) Total() time.Duration { return t.ControlPlane + t.CRDs + t.Controller }

func (t Timings) String() string {
	return fmt.Sprintf("%s (control plane %s, CRDs %s, Tekton controller %s)", t.Total().Round(time.Millisecond),
		t.ControlPlane.Round(time.Millisecond), t.CRDs.Round(time.Millisecond), t.Controller.Round(time.Millisecond))
}

// Cluster is a running control plane with Tekton Pipelines' controller.
type Cluster struct {
	// Config reaches the API server as cluster admin.
	Config *rest.Config
	// Kube is a Kubernetes clientset.
	Kube kubernetes.Interface
	// Tekton is Tekton Pipelines' clientset.
	Tekton versioned.Interface
	// Dynamic reaches any resource, including CRDs installed after Start.
	Dynamic dynamic.Interface
	// Kubeconfig is the path of a kubeconfig file for CLI tools (kubectl, tkn) and other processes.
	Kubeconfig string
	// Dir holds the kubeconfig and the logs (etcd.log, kube-apiserver.log, tekton-controller.log).
	Dir string
	// Tools are the binaries the cluster runs, plus kubectl, tkn and MinIO for tests that use them.
	Tools Tools
	// Timings says how long the start took.
	Timings Timings
	// HostIP is this machine's own address, where Pods of a real node reach services of the host.
	HostIP string
	// Images are the real node's images (Ref is what a Pod names).
	Images ImageSet
	// NodeDir and Bridge are a real node's folder (state, sockets, volumes) and its Pods' bridge.
	NodeDir, Bridge string

	env        *envtest.Environment
	controller *process
	mapper     *restmapper.DeferredDiscoveryRESTMapper
	cancel     context.CancelFunc
	bgCtx      context.Context
	realNode   bool
	// aggregatorRouting: see Options.AggregatorRouting.
	aggregatorRouting bool
	nodeDir           string
	plane             *controlPlane
	procs             []*process
	state             *nodeState
	// serviceCIDR and serviceIP are a real node's Service range and `kubernetes` Service address.
	serviceCIDR, serviceIP string
	serviceProxy           net.Listener
	removeDir              bool
	logf                   func(format string, args ...any)
	stopOnce               sync.Once
	stopErr                error
}

var setLoggerOnce sync.Once

// Start starts a Cluster for the test and stops it when the test ends (also when it fails, after logging the
// tail of the Tekton controller's log). It skips the test, naming the make target to run, when the tools are
// not built.
func Start(t testing.TB, opts ...Option) *Cluster {
	t.Helper()
	o := Options{}
	for _, opt := range opts {
		opt(&o)
	}
	if o.RealNode {
		o.NeedTools = append(o.NeedTools, "node")
	}
	o.Tools = RequireTools(t, o.NeedTools...)
	if o.RealNode {
		if err := checkNodeHost(); err != nil {
			Unavailable(t, "no real node on this machine: "+err.Error())
		}
	}
	if o.Dir == "" {
		o.Dir = t.TempDir()
	}
	if o.Logf == nil {
		o.Logf = t.Logf
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := New(ctx, o)
	if err != nil {
		t.Fatalf("error starting the test cluster: %v", err)
	}
	// `go test -timeout` ends the process without running cleanups, which would leave etcd and kube-apiserver
	// running: stop them just before the deadline instead.
	if dl, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if deadline, ok := dl.Deadline(); ok {
			timer := time.AfterFunc(time.Until(deadline)-5*time.Second, func() {
				c.logf("test deadline near: stopping the test cluster")
				_ = c.Stop()
			})
			t.Cleanup(func() { timer.Stop() })
		}
	}
	t.Cleanup(func() {
		if t.Failed() && c.controller != nil {
			t.Logf("tail of %s:\n%s", c.controller.logPath, tailFile(c.controller.logPath, 80))
		}
		start := time.Now()
		if err := c.Stop(); err != nil {
			t.Errorf("error stopping the test cluster: %v", err)
		}
		t.Logf("test cluster stopped in %s", time.Since(start).Round(time.Millisecond))
	})
	t.Logf("test cluster up in %s; kubeconfig %s", c.Timings, c.Kubeconfig)
	return c
}

// New starts a Cluster; the caller must Stop it. On error everything started so far is stopped again.
func New(ctx context.Context, o Options) (c *Cluster, err error) {
	setLoggerOnce.Do(func() { ctrllog.SetLogger(logr.Discard()) })
	if o.Tools.AssetsDir == "" && o.Tools.TektonController == "" {
		if o.Tools, err = FindTools(); err != nil {
			return nil, err
		}
	}
	if missing := o.Tools.Missing(); len(missing) > 0 {
		return nil, fmt.Errorf("test tools not built: %v; %s", missing, BuildHint)
	}
	c = &Cluster{Tools: o.Tools, Dir: o.Dir, logf: o.Logf, realNode: o.RealNode, aggregatorRouting: o.AggregatorRouting}
	if c.logf == nil {
		c.logf = func(string, ...any) {}
	}
	if c.Dir == "" {
		if c.Dir, err = os.MkdirTemp("", "mlpipe-cluster-"); err != nil {
			return nil, fmt.Errorf("error creating the cluster directory: %w", err)
		}
		c.removeDir = true
	}
	defer func() {
		if err != nil {
			if c.controller != nil {
				err = fmt.Errorf("%w\ntail of %s:\n%s", err, c.controller.logPath, tailFile(c.controller.logPath, 40))
			}
			err = errors.Join(err, c.Stop())
			c = nil
		}
	}()
	c.bgCtx, c.cancel = context.WithCancel(context.Background())

	start := time.Now()
	if o.RealNode {
		if err := c.startRealNode(ctx); err != nil {
			return c, err
		}
	} else if err := c.startControlPlane(); err != nil {
		return c, err
	}
	c.Timings.ControlPlane = time.Since(start)

	start = time.Now()
	if err := c.installCRDs(ctx, o.Triggers); err != nil {
		return c, err
	}
	c.Timings.CRDs = time.Since(start)

	start = time.Now()
	if !o.RealNode { // a real node's kube-controller-manager makes them
		if err := c.startServiceAccounts(c.bgCtx); err != nil {
			return c, err
		}
	}
	flags := o.FeatureFlags
	if o.RealNode {
		// Tekton's init containers pass the restricted profile only with set-security-context; one node needs
		// no affinity assistant (it would be one more StatefulSet per run).
		flags = map[string]string{"set-security-context": "true", "coschedule": "disabled"}
		for k, v := range o.FeatureFlags {
			flags[k] = v
		}
	}
	if err := c.startTektonController(ctx, flags); err != nil {
		return c, err
	}
	c.Timings.Controller = time.Since(start)
	return c, nil
}

func (c *Cluster) startControlPlane() error {
	env := &envtest.Environment{
		BinaryAssetsDirectory:    c.Tools.AssetsDir,
		ControlPlaneStartTimeout: 90 * time.Second,
		ControlPlaneStopTimeout:  30 * time.Second,
	}
	apiLog, err := os.Create(filepath.Join(c.Dir, "kube-apiserver.log"))
	if err != nil {
		return fmt.Errorf("error creating the kube-apiserver log: %w", err)
	}
	etcdLog, err := os.Create(filepath.Join(c.Dir, "etcd.log"))
	if err != nil {
		return fmt.Errorf("error creating the etcd log: %w", err)
	}
	apiServer := env.ControlPlane.GetAPIServer()
	apiServer.Out, apiServer.Err = apiLog, apiLog
	if c.aggregatorRouting {
		apiServer.Configure().Set("enable-aggregator-routing", "true")
	}
	env.ControlPlane.Etcd = &envtest.Etcd{Out: etcdLog, Err: etcdLog}
	cfg, err := env.Start()
	c.env = env
	if err != nil {
		return fmt.Errorf("error starting etcd and kube-apiserver (logs in %s): %w", c.Dir, err)
	}
	if err := c.useConfig(cfg, ""); err != nil {
		return err
	}
	c.Kubeconfig = filepath.Join(c.Dir, "kubeconfig")
	if err := os.WriteFile(c.Kubeconfig, env.KubeConfig, 0o600); err != nil {
		return fmt.Errorf("error writing the kubeconfig: %w", err)
	}
	return nil
}

// useConfig makes the clients of the cluster from an admin config; kubeconfigPath is its file, if written.
func (c *Cluster) useConfig(cfg *rest.Config, kubeconfigPath string) error {
	var err error
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = 200, 400
	c.Config = cfg
	c.Kubeconfig = kubeconfigPath
	if c.Kube, err = kubernetes.NewForConfig(cfg); err != nil {
		return fmt.Errorf("error creating the Kubernetes client: %w", err)
	}
	if c.Tekton, err = versioned.NewForConfig(cfg); err != nil {
		return fmt.Errorf("error creating the Tekton client: %w", err)
	}
	if c.Dynamic, err = dynamic.NewForConfig(cfg); err != nil {
		return fmt.Errorf("error creating the dynamic client: %w", err)
	}
	disco, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return fmt.Errorf("error creating the discovery client: %w", err)
	}
	c.mapper = restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disco))
	return nil
}

// Stop stops the Tekton controller, kube-apiserver and etcd, and removes the directory if New created it. It
// is safe to call more than once.
func (c *Cluster) Stop() error {
	c.stopOnce.Do(func() {
		var errs []error
		if c.cancel != nil {
			c.cancel()
		}
		if c.controller != nil {
			if err := c.controller.stop(10 * time.Second); err != nil {
				errs = append(errs, fmt.Errorf("error stopping the Tekton controller: %w", err))
			}
		}
		if c.env != nil {
			if err := c.env.Stop(); err != nil {
				errs = append(errs, fmt.Errorf("error stopping etcd and kube-apiserver: %w", err))
			}
		}
		if c.realNode {
			errs = append(errs, c.stopRealNode())
		}
		if c.removeDir {
			if err := os.RemoveAll(c.Dir); err != nil {
				errs = append(errs, err)
			}
		}
		c.stopErr = errors.Join(errs...)
	})
	return c.stopErr
}
