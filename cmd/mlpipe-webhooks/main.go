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

// Command mlpipe-webhooks serves mlpipe's S3/MinIO interceptor for Tekton Triggers over HTTPS (the
// ClusterInterceptor mlpipe-s3) and, when --receiver-config is set, the direct receiver over HTTP. It only wires
// pkg/interceptor and pkg/receiver together.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/mlpipe/mlpipe/pkg/events/engine"
	"github.com/mlpipe/mlpipe/pkg/interceptor"
	"github.com/mlpipe/mlpipe/pkg/policy"
	"github.com/mlpipe/mlpipe/pkg/receiver"
	versioned "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	tektoninformers "github.com/tektoncd/pipeline/pkg/client/informers/externalversions"
	triggersclient "github.com/tektoncd/triggers/pkg/client/clientset/versioned"
	"github.com/tektoncd/triggers/pkg/interceptors"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

type options struct {
	kubeconfig      string
	qps             float64
	burst           int
	interceptorAddr string
	receiverAddr    string
	receiverConfig  string
	maxBodyBytes    int64
	namespace       string
	tlsSecret       string
	tlsService      string
}

func main() {
	o := options{}
	flag.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig file (empty: in-cluster config)")
	flag.Float64Var(&o.qps, "kube-api-qps", 50, "client-side limit of API requests per second")
	flag.IntVar(&o.burst, "kube-api-burst", 100, "client-side burst of API requests")
	flag.StringVar(&o.interceptorAddr, "interceptor-addr", ":8443", "HTTPS address of the interceptor (empty: off)")
	flag.StringVar(&o.receiverAddr, "receiver-addr", ":8080", "HTTP address of the direct receiver")
	flag.StringVar(&o.receiverConfig, "receiver-config", "", "routes of the direct receiver (empty: receiver off)")
	flag.Int64Var(&o.maxBodyBytes, "max-body-bytes", receiver.DefaultMaxBodyBytes, "largest notification body accepted (larger: 413)")
	flag.StringVar(&o.namespace, "namespace", os.Getenv(interceptor.EnvSystemNamespace), "namespace of the TLS secret and the Service")
	flag.StringVar(&o.tlsSecret, "tls-secret", "mlpipe-webhooks-certs", "Secret holding the interceptor's certificate and CA")
	flag.StringVar(&o.tlsService, "tls-service", "mlpipe-webhooks", "Service the certificate is issued for")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	zl, err := zap.NewProduction()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	logger := zl.Sugar()
	if err := run(ctx, o, logger); err != nil {
		logger.Fatal(err)
	}
}

func run(ctx context.Context, o options, logger *zap.SugaredLogger) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", o.kubeconfig)
	if err != nil {
		return fmt.Errorf("error loading the kubeconfig: %w", err)
	}
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = float32(o.qps), o.burst
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	tekton, err := versioned.NewForConfig(cfg)
	if err != nil {
		return err
	}
	triggers, err := triggersclient.NewForConfig(cfg)
	if err != nil {
		return err
	}
	// Cache only the runs of Pipelines, trimmed to what the policy and the dedup check read (as cmd/controller).
	factory := tektoninformers.NewSharedInformerFactoryWithOptions(tekton, 10*time.Minute,
		tektoninformers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = policy.RunSelector }))
	runs := factory.Tekton().V1().PipelineRuns()
	if err := runs.Informer().SetTransform(policy.SlimRun(receiver.DedupKeyAnnotation)); err != nil {
		return fmt.Errorf("error setting the PipelineRun transform: %w", err)
	}
	factory.Start(ctx.Done())
	for typ, ok := range factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return fmt.Errorf("error syncing the %v informer", typ)
		}
	}
	// One engine for both surfaces: one coalescer, the same chain.
	eng := &engine.Engine{Runs: runs.Lister(), Tekton: tekton, Logger: logger}
	g, ctx := errgroup.WithContext(ctx)
	if o.interceptorAddr != "" {
		ic := interceptor.New(interceptors.DefaultSecretGetter(kube.CoreV1()), eng, logger)
		certs, err := interceptor.ManageCerts(ctx, ic, kube, triggers, interceptor.TLSOptions{
			Namespace: o.namespace, SecretName: o.tlsSecret, ServiceName: o.tlsService,
		})
		if err != nil {
			return err
		}
		ln, err := net.Listen("tcp", o.interceptorAddr)
		if err != nil {
			return err
		}
		logger.Infow("serving the interceptor", "addr", ln.Addr().String(), "path", "/"+interceptor.Name)
		g.Go(func() error { return interceptor.Serve(ctx, ln, certs.Handler(), certs.GetCertificate) })
	}
	if o.receiverConfig != "" {
		routes, err := receiver.LoadConfig(o.receiverConfig)
		if err != nil {
			return err
		}
		rc := &receiver.Receiver{Routes: routes, Engine: eng, MaxBodyBytes: o.maxBodyBytes, Logger: logger}
		srv := &http.Server{Addr: o.receiverAddr, Handler: rc, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second}
		logger.Infow("serving the direct receiver", "addr", o.receiverAddr, "routes", len(routes))
		g.Go(func() error {
			if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		})
		g.Go(func() error {
			<-ctx.Done()
			sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			return srv.Shutdown(sctx)
		})
	}
	return g.Wait()
}
