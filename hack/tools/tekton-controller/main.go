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

// Command tekton-controller runs Tekton Pipelines' own reconcilers (TaskRun, PipelineRun and
// ResolutionRequest, from github.com/tektoncd/pipeline at the version in the project's go.mod) for the test
// control plane. It is mlpipe's launcher, not Tekton's cmd/controller: it takes only what the tests pass
// (the image placeholders and a kubeconfig), answers readiness on PROBES_PORT, and turns off knative's second
// health server, which always binds :8080 and would keep two test clusters from running at once.
package main

import (
	"flag"
	"log"
	"net"
	"net/http"
	"os"

	"github.com/tektoncd/pipeline/pkg/apis/pipeline"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	"github.com/tektoncd/pipeline/pkg/reconciler/pipelinerun"
	"github.com/tektoncd/pipeline/pkg/reconciler/resolutionrequest"
	"github.com/tektoncd/pipeline/pkg/reconciler/taskrun"
	"k8s.io/utils/clock"
	filteredinformerfactory "knative.dev/pkg/client/injection/kube/informers/factory/filtered"
	"knative.dev/pkg/injection"
	"knative.dev/pkg/injection/sharedmain"
	"knative.dev/pkg/signals"
)

// component names the leases and the logger, as in a Tekton install, so tools that look for
// "tekton-pipelines-controller" leases find them.
const component = "tekton-pipelines-controller"

func main() {
	opts := &pipeline.Options{}
	images := map[string]*string{
		"entrypoint-image":        &opts.Images.EntrypointImage,
		"sidecarlogresults-image": &opts.Images.SidecarLogResultsImage,
		"nop-image":               &opts.Images.NopImage,
		"shell-image":             &opts.Images.ShellImage,
		"shell-image-win":         &opts.Images.ShellImageWin,
		"workingdirinit-image":    &opts.Images.WorkingDirInitImage,
	}
	for name, ref := range images {
		flag.StringVar(ref, name, "", "image Tekton writes into the Pods it creates ("+name+")")
	}
	cfg := injection.ParseAndGetRESTConfigOrDie()
	if err := opts.Images.Validate(); err != nil {
		log.Fatalf("tekton-controller: %v", err)
	}
	if cfg.QPS == 0 {
		cfg.QPS, cfg.Burst = 50, 100
	}

	port := os.Getenv("PROBES_PORT")
	if port == "" {
		log.Fatal("tekton-controller: set PROBES_PORT (the harness picks a free one)")
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", port))
	if err != nil {
		log.Fatalf("tekton-controller: readiness port: %v", err)
	}
	go func() {
		ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
		log.Fatal(http.Serve(ln, ok))
	}()

	ctx := sharedmain.WithHealthProbesDisabled(signals.NewContext())
	ctx = filteredinformerfactory.WithSelectors(ctx, v1beta1.ManagedByLabelKey)
	sharedmain.MainWithConfig(ctx, component, cfg,
		taskrun.NewController(opts, clock.RealClock{}),
		pipelinerun.NewController(opts, clock.RealClock{}),
		resolutionrequest.NewController(clock.RealClock{}),
	)
}
