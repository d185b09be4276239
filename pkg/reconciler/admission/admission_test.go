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

package admission

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// objects decodes every object of config/<file> by kind and name.
func objects(t *testing.T, file string) map[string]*unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "config", file))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*unstructured.Unstructured{}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); errors.Is(err, io.EOF) {
			return out
		} else if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if len(u.Object) > 0 {
			out[u.GetKind()+"/"+u.GetName()] = u
		}
	}
}

func into[T any](t *testing.T, objs map[string]*unstructured.Unstructured, key string) *T {
	t.Helper()
	u, ok := objs[key]
	if !ok {
		t.Fatalf("no %s", key)
	}
	out := new(T)
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(u.Object, out, true); err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	return out
}

// TestManifestsMatchTheWebhook: config/ registers the webhook under the names, Service, Secret, port and
// permissions the controller uses; a rename on one side only would leave PipelineSchedules unvalidated or
// (failurePolicy Fail) unwritable.
func TestManifestsMatchTheWebhook(t *testing.T) {
	hooks := objects(t, "500-webhooks.yaml")
	svcRef := func(c admissionregistrationv1.WebhookClientConfig) string {
		if c.Service == nil {
			return ""
		}
		return c.Service.Namespace + "/" + c.Service.Name
	}
	want := "mlpipe/" + DefaultServiceName
	m := into[admissionregistrationv1.MutatingWebhookConfiguration](t, hooks, "MutatingWebhookConfiguration/"+DefaultingName)
	if len(m.Webhooks) != 1 || m.Webhooks[0].Name != DefaultingName || svcRef(m.Webhooks[0].ClientConfig) != want {
		t.Errorf("MutatingWebhookConfiguration %s: webhooks %+v, want one named %s calling %s", DefaultingName, m.Webhooks, DefaultingName, want)
	}
	v := into[admissionregistrationv1.ValidatingWebhookConfiguration](t, hooks, "ValidatingWebhookConfiguration/"+ValidationName)
	if len(v.Webhooks) != 1 || v.Webhooks[0].Name != ValidationName || svcRef(v.Webhooks[0].ClientConfig) != want {
		t.Errorf("ValidatingWebhookConfiguration %s: webhooks %+v, want one named %s calling %s", ValidationName, v.Webhooks, ValidationName, want)
	}
	into[corev1.Secret](t, hooks, "Secret/"+DefaultSecretName)
	svc := into[corev1.Service](t, hooks, "Service/"+DefaultServiceName)

	// The Service's target port is the controller's webhook port, and its env names the same objects.
	dep := into[appsv1.Deployment](t, objects(t, "controller.yaml"), "Deployment/mlpipe-controller")
	ctr := dep.Spec.Template.Spec.Containers[0]
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 443 {
		t.Fatalf("Service ports = %+v, want one, 443", svc.Spec.Ports)
	}
	target := svc.Spec.Ports[0].TargetPort.String()
	if !slices.ContainsFunc(ctr.Ports, func(p corev1.ContainerPort) bool { return p.Name == target && p.ContainerPort == DefaultPort }) {
		t.Errorf("controller container ports %+v have no %s on %d", ctr.Ports, target, DefaultPort)
	}
	env := map[string]string{}
	for _, e := range ctr.Env {
		env[e.Name] = e.Value
	}
	for k, want := range map[string]string{"WEBHOOK_SERVICE_NAME": DefaultServiceName, "WEBHOOK_SECRET_NAME": DefaultSecretName, "WEBHOOK_PORT": "8443"} {
		if env[k] != want {
			t.Errorf("controller env %s = %q, want %q", k, env[k], want)
		}
	}
	if !slices.Contains(ctr.Args, "--webhook") {
		t.Errorf("controller args %v lack --webhook", ctr.Args)
	}

	// The Role may update the certificate Secret; the ClusterRole the two configurations.
	allows := func(rules []rbacv1.PolicyRule, resource, name, verb string) bool {
		return slices.ContainsFunc(rules, func(r rbacv1.PolicyRule) bool {
			return slices.Contains(r.Resources, resource) && slices.Contains(r.ResourceNames, name) && slices.Contains(r.Verbs, verb)
		})
	}
	role := into[rbacv1.Role](t, objects(t, "200-role.yaml"), "Role/mlpipe-controller")
	if !allows(role.Rules, "secrets", DefaultSecretName, "update") {
		t.Errorf("Role mlpipe-controller cannot update Secret %s", DefaultSecretName)
	}
	cr := into[rbacv1.ClusterRole](t, objects(t, "200-clusterrole.yaml"), "ClusterRole/mlpipe-controller")
	if !allows(cr.Rules, "mutatingwebhookconfigurations", DefaultingName, "update") || !allows(cr.Rules, "validatingwebhookconfigurations", ValidationName, "update") {
		t.Errorf("ClusterRole mlpipe-controller cannot update the webhook configurations: %+v", cr.Rules)
	}
}
