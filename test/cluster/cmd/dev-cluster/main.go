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

// Command dev-cluster runs the tests' cluster until interrupted, for trying generated pipelines by hand: the
// real node (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, containerd and a kubelet running the
// step image built from this checkout, see test/cluster) when this machine can run one, else the control plane
// with a stand-in kubelet that completes Pods with made-up results; plus MinIO and an alert receiver. It writes
// its environment as shell export lines to -env-file once it is ready. Start it with hack/dev-cluster.sh (make
// dev-cluster, or dev-cluster-up in the background), which builds the tools first.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"

	"github.com/mlpipe/mlpipe/test/cluster"
)

// listFlag collects a repeated flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	var results, fails, flags, namespaces listFlag
	dir := flag.String("dir", "", "directory for the kubeconfig, logs and MinIO's data (default <repo>/.dev-cluster)")
	envFile := flag.String("env-file", "", "file the environment is written to as export lines once ready (default DIR/env)")
	nodeMode := flag.String("node", "auto", "real: a real kubelet runs containers (needs root and cgroups); stand-in: Pods are completed with made-up results; auto: real when this machine can")
	withMinIO := flag.Bool("minio", true, "run MinIO (buckets datasets and models; Secret mlpipe-s3 in the namespaces)")
	keepData := flag.Bool("keep-data", false, "keep MinIO's data (datasets, the registry and its champion) from the previous start; by default every start begins empty, as the cluster does")
	kubelet := flag.Bool("kubelet", true, "stand-in node: complete every TaskRun's Pod as a kubelet would (otherwise Pods stay Pending)")
	standIn := flag.Bool("stand-in-results", true, "report a stand-in value for every declared result no -result gives (evaluate passes), so pipelines wired by results run to their end")
	triggers := flag.Bool("triggers", false, "also install Tekton Triggers' CRDs")
	kserve := flag.Bool("kserve", true, "real node: also run KServe's controller manager (Standard mode), so spec.deploy.kserve serves too")
	flag.Var(&results, "result", "TASK.RESULT=VALUE the stand-in kubelet reports for a pipeline task (repeatable), e.g. evaluate.passed=false")
	flag.Var(&fails, "fail", "pipeline task whose last step the stand-in kubelet fails with exit code 1 (repeatable)")
	flag.Var(&flags, "feature-flag", "KEY=VALUE for Tekton's feature-flags ConfigMap (repeatable)")
	flag.Var(&namespaces, "namespace", "namespace to create, with its default ServiceAccount and the mlpipe-s3 and mlpipe-alert Secrets (repeatable; default: default)")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("dev-cluster: ")

	outcomes, err := parseOutcomes(results, fails)
	if err != nil {
		log.Fatal(err)
	}
	featureFlags := map[string]string{"set-security-context": "true"}
	for _, f := range flags {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			log.Fatalf("-feature-flag %q: want KEY=VALUE", f)
		}
		featureFlags[k] = v
	}
	if *dir == "" {
		root, err := cluster.RepoRoot()
		if err != nil {
			log.Fatal(err)
		}
		*dir = filepath.Join(root, ".dev-cluster")
	}
	if *envFile == "" {
		*envFile = filepath.Join(*dir, "env")
	}
	_ = os.Remove(*envFile) // written again once this cluster is ready
	clusterDir := filepath.Join(*dir, "cluster")
	_ = os.RemoveAll(clusterDir)
	if err := os.MkdirAll(clusterDir, 0o755); err != nil {
		log.Fatal(err)
	}
	if len(namespaces) == 0 {
		namespaces = listFlag{"default"}
	}
	tools, err := cluster.FindTools()
	if err != nil {
		log.Fatal(err)
	}
	real, why := chooseNode(*nodeMode, tools)
	if !real {
		log.Printf("stand-in node: %s; containers do not run, Pods are completed with made-up results", why)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	startCtx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	c, err := cluster.New(startCtx, cluster.Options{Dir: clusterDir, Tools: tools, RealNode: real, Triggers: *triggers, FeatureFlags: featureFlags, Logf: log.Printf})
	cancel()
	if err != nil {
		log.Fatal(err)
	}
	nodeFile := filepath.Join(*dir, "node.json")
	defer func() {
		_ = os.Remove(*envFile)
		if err := c.Stop(); err != nil {
			log.Print(err)
		}
		_ = os.Remove(nodeFile)
		log.Print("stopped")
	}()
	if real {
		// Where the node lives, for checking after make dev-cluster-down that nothing is left (cluster.NodeLeftOver).
		b, _ := json.Marshal(map[string]string{"nodeDir": c.NodeDir, "bridge": c.Bridge})
		if err := os.WriteFile(nodeFile, b, 0o644); err != nil {
			log.Print(err)
			return
		}
	}
	if real && *kserve {
		kctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
		err := c.StartKServe(kctx)
		cancel()
		if err != nil {
			log.Print(err)
			return
		}
	}
	minioDir := filepath.Join(*dir, "minio")
	if !*keepData {
		// The cluster's own state is new on every start; a registry left from an earlier one would hold a champion
		// the first run of the walk-through must beat.
		if err := os.RemoveAll(minioDir); err != nil {
			log.Print(err)
			return
		}
	}
	env, stopExtras, err := startExtras(ctx, c, real, *withMinIO, minioDir, namespaces)
	if err != nil {
		log.Print(err)
		return
	}
	defer stopExtras()
	if err := writeEnv(*envFile, env); err != nil {
		log.Print(err)
		return
	}
	log.Printf("up in %s (%s node); logs in %s; environment in %s:", c.Timings, map[bool]string{true: "real", false: "stand-in"}[real], c.Dir, *envFile)
	for _, kv := range env {
		fmt.Println(exportLine(kv))
	}
	if real {
		log.Print("real node: Pods run as containers; Ctrl-C to stop")
		<-ctx.Done()
	} else if *kubelet {
		log.Printf("stand-in kubelet: completing every TaskRun Pod (outcomes: %v, stand-in results: %v); Ctrl-C to stop", outcomes, *standIn)
		if err := c.RunKubelet(ctx, outcomes, *standIn, func(tr *v1.TaskRun, o cluster.TaskOutcome) {
			log.Printf("completed %s/%s (exit %d, results %v)", tr.Namespace, tr.Name, o.ExitCode, o.Results)
		}); err != nil {
			log.Print(err)
		}
	} else {
		log.Print("no kubelet: TaskRun Pods stay Pending; Ctrl-C to stop")
		<-ctx.Done()
	}
	log.Print("stopping")
}

// parseOutcomes turns -result TASK.RESULT=VALUE and -fail TASK flags into outcomes.
func parseOutcomes(results, fails []string) (cluster.Outcomes, error) {
	outcomes := cluster.Outcomes{}
	for _, r := range results {
		key, value, ok := strings.Cut(r, "=")
		task, name, ok2 := strings.Cut(key, ".")
		if !ok || !ok2 || task == "" || name == "" {
			return nil, fmt.Errorf("-result %q: want TASK.RESULT=VALUE", r)
		}
		o := outcomes[task]
		if o.Results == nil {
			o.Results = map[string]string{}
		}
		o.Results[name] = value
		outcomes[task] = o
	}
	sort.Strings(fails)
	for _, task := range fails {
		o := outcomes[task]
		o.ExitCode = 1
		outcomes[task] = o
	}
	return outcomes, nil
}
