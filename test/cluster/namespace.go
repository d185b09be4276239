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

package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
)

const (
	// PodSecurityEnforceLabel is the namespace label that makes the API server enforce a Pod Security level.
	PodSecurityEnforceLabel = "pod-security.kubernetes.io/enforce"
	// DefaultServiceAccount is the ServiceAccount Pods run as unless they name another.
	DefaultServiceAccount = "default"
)

// NewNamespace creates a namespace named after the test, with its default ServiceAccount; restricted labels it
// pod-security.kubernetes.io/enforce=restricted, so the API server rejects Pods (including the ones Tekton
// creates) that break the restricted profile. Namespaces are not deleted: envtest has no garbage collector to
// finish a deletion, and the whole cluster goes away with the test.
func (c *Cluster) NewNamespace(t testing.TB, restricted bool) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ns, err := c.CreateNamespace(ctx, namespaceName(t.Name()), restricted)
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

// CreateNamespace creates a namespace and its default ServiceAccount (AlreadyExists is fine for both).
func (c *Cluster) CreateNamespace(ctx context.Context, name string, restricted bool) (string, error) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if restricted {
		ns.Labels = map[string]string{PodSecurityEnforceLabel: "restricted"}
	}
	if _, err := c.Kube.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return "", fmt.Errorf("error creating namespace %s: %w", name, err)
	}
	if err := c.ensureServiceAccount(ctx, name); err != nil {
		return "", err
	}
	return name, nil
}

func (c *Cluster) ensureServiceAccount(ctx context.Context, ns string) error {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: DefaultServiceAccount, Namespace: ns}}
	if _, err := c.Kube.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("error creating ServiceAccount %s/%s: %w", ns, DefaultServiceAccount, err)
	}
	return nil
}

// startServiceAccounts plays kube-controller-manager's ServiceAccount controller: every namespace, including
// the ones a CLI or a test creates directly, gets its default ServiceAccount (Tekton looks it up for each Pod).
func (c *Cluster) startServiceAccounts(ctx context.Context) error {
	factory := informers.NewSharedInformerFactory(c.Kube, 0)
	inf := factory.Core().V1().Namespaces().Informer()
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			ns, ok := obj.(*corev1.Namespace)
			if !ok || ns.DeletionTimestamp != nil {
				return
			}
			createCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			if err := c.ensureServiceAccount(createCtx, ns.Name); err != nil && ctx.Err() == nil && !apierrors.IsForbidden(err) {
				c.logf("service account controller: %v", err)
			}
		},
	}); err != nil {
		return fmt.Errorf("error watching namespaces: %w", err)
	}
	factory.Start(ctx.Done())
	for typ, ok := range factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return fmt.Errorf("error syncing the %v informer", typ)
		}
	}
	return nil
}

var notDNS = regexp.MustCompile(`[^a-z0-9-]+`)

// namespaceName turns a test name into a unique namespace name.
func namespaceName(testName string) string {
	name := strings.Trim(notDNS.ReplaceAllString(strings.ToLower(testName), "-"), "-")
	if len(name) > 50 {
		name = strings.TrimRight(name[:50], "-")
	}
	if name == "" {
		name = "test"
	}
	var b [3]byte
	_, _ = rand.Read(b[:])
	return name + "-" + hex.EncodeToString(b[:])
}
