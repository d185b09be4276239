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

package interceptor

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	triggersclient "github.com/tektoncd/triggers/pkg/client/clientset/versioned"
	"github.com/tektoncd/triggers/pkg/interceptors/server"
	"github.com/tektoncd/triggers/pkg/interceptors/server/tlsconfig"
	"go.uber.org/zap"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	certresources "knative.dev/pkg/webhook/certificates/resources"
)

// Environment variables Triggers' interceptor server code reads (we reuse that code for the certificates).
const (
	// EnvTLSSecretName names the Secret holding the serving certificate and its CA.
	EnvTLSSecretName = "INTERCEPTOR_TLS_SECRET_NAME"
	// EnvTLSServiceName names the Service the certificate is issued for (<svc>.<ns>.svc).
	EnvTLSServiceName = "INTERCEPTOR_TLS_SVC_NAME"
	// EnvSystemNamespace is the namespace of the Secret and the Service.
	EnvSystemNamespace = "SYSTEM_NAMESPACE"
)

func newTriggersServer(i *Interceptor) *server.Server {
	s := &server.Server{Logger: i.Logger}
	s.RegisterInterceptor(Name, i)
	return s
}

// TLSOptions say where the serving certificate lives.
type TLSOptions struct {
	// Namespace holds the Secret (and the Service), SYSTEM_NAMESPACE in Triggers' code.
	Namespace string
	// SecretName is the Secret with server-key.pem, server-cert.pem and ca-cert.pem. It must exist (the
	// manifests create it empty); the certificates are filled in when they are missing.
	SecretName string
	// ServiceName is the Service the certificate is for.
	ServiceName string
	// Resync is how often the ClusterInterceptor's caBundle is checked against the Secret (default 15 s: a
	// ClusterInterceptor applied after start gets its caBundle well within the minute Triggers' sink waits).
	Resync time.Duration
}

// Certs manages the interceptor's serving certificate as Triggers' core interceptors do: Triggers'
// CreateAndValidateCerts fills the Secret with a CA and a server certificate when it is empty and patches the CA
// into the caBundle of our ClusterInterceptor; the certificate is served from an informer on that one Secret, and
// the caBundle is re-checked every Resync.
type Certs struct {
	opts     TLSOptions
	kube     kubernetes.Interface
	triggers triggersclient.Interface
	srv      *server.Server
	factory  informers.SharedInformerFactory
	logger   *zap.SugaredLogger
}

// ManageCerts sets the certificates up and starts the informer; it fails when the Secret has no usable
// certificate afterwards.
func ManageCerts(ctx context.Context, i *Interceptor, kube kubernetes.Interface, triggers triggersclient.Interface, opts TLSOptions) (*Certs, error) {
	if opts.Namespace == "" || opts.SecretName == "" || opts.ServiceName == "" {
		return nil, errors.New("TLS options need a namespace, a secret name and a service name")
	}
	if opts.Resync == 0 {
		opts.Resync = 15 * time.Second
	}
	// Triggers' code reads these from the environment.
	for k, v := range map[string]string{EnvSystemNamespace: opts.Namespace, EnvTLSSecretName: opts.SecretName, EnvTLSServiceName: opts.ServiceName} {
		if err := os.Setenv(k, v); err != nil {
			return nil, err
		}
	}
	c := &Certs{opts: opts, kube: kube, triggers: triggers, srv: newTriggersServer(i), logger: i.Logger}
	server.CreateAndValidateCerts(ctx, kube.CoreV1(), i.Logger, c.srv, triggers.TriggersV1alpha1())
	c.factory = informers.NewSharedInformerFactoryWithOptions(kube, 10*time.Minute, informers.WithNamespace(opts.Namespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", opts.SecretName).String()
		}))
	c.factory.Core().V1().Secrets().Informer()
	c.factory.Start(ctx.Done())
	for typ, ok := range c.factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return nil, fmt.Errorf("error syncing the %v informer", typ)
		}
	}
	if _, err := c.GetCertificate(nil); err != nil {
		return nil, err
	}
	go c.resync(ctx)
	return c, nil
}

// Handler is the interceptor's HTTP handler, served by Triggers' interceptor server code.
func (c *Certs) Handler() http.Handler { return c.srv }

// GetCertificate returns the serving certificate from the Secret (as tls.Config.GetCertificate).
func (c *Certs) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	s, err := c.factory.Core().V1().Secrets().Lister().Secrets(c.opts.Namespace).Get(c.opts.SecretName)
	if err != nil {
		return nil, fmt.Errorf("error reading the TLS secret %s/%s: %w", c.opts.Namespace, c.opts.SecretName, err)
	}
	cert, err := tls.X509KeyPair(s.Data[certresources.ServerCert], s.Data[certresources.ServerKey])
	if err != nil {
		return nil, fmt.Errorf("TLS secret %s/%s: %w", c.opts.Namespace, c.opts.SecretName, err)
	}
	return &cert, nil
}

// resync keeps the ClusterInterceptor's caBundle equal to the Secret's CA (someone may recreate either).
func (c *Certs) resync(ctx context.Context) {
	t := time.NewTicker(c.opts.Resync)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := c.SyncCABundle(ctx); err != nil {
			c.logger.Warnw("caBundle sync failed", "error", err)
		}
	}
}

// SyncCABundle writes the Secret's CA into the ClusterInterceptor's caBundle when they differ.
func (c *Certs) SyncCABundle(ctx context.Context) error {
	s, err := c.factory.Core().V1().Secrets().Lister().Secrets(c.opts.Namespace).Get(c.opts.SecretName)
	if err != nil {
		return err
	}
	ca := s.Data[certresources.CACert]
	ci, err := c.triggers.TriggersV1alpha1().ClusterInterceptors().Get(ctx, Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if bytes.Equal(ci.Spec.ClientConfig.CaBundle, ca) {
		return nil
	}
	ci.Spec.ClientConfig.CaBundle = ca
	_, err = c.triggers.TriggersV1alpha1().ClusterInterceptors().Update(ctx, ci, metav1.UpdateOptions{})
	return err
}

// Serve serves h over HTTPS on ln with Triggers' TLS settings (TLS_MIN_VERSION etc. from the environment)
// and the certificate from getCert, until ctx ends.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, getCert func(*tls.ClientHelloInfo) (*tls.Certificate, error)) error {
	cfg, err := tlsconfig.LoadFromEnv().ToTLSConfig()
	if err != nil {
		return fmt.Errorf("error reading the TLS configuration: %w", err)
	}
	cfg.GetCertificate = getCert
	mux := http.NewServeMux()
	mux.Handle("/", h)
	mux.HandleFunc("/ready", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	srv := &http.Server{
		Handler:           mux,
		TLSConfig:         cfg,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       5 * time.Second,
		WriteTimeout:      20 * time.Second,
		IdleTimeout:       60 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ServeTLS(ln, "", "") }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return srv.Shutdown(shutdownCtx)
	}
}
