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

package generate

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mlpipe/mlpipe/pkg/spec"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

// specWith is a minimal valid spec with metadata and the spec's tail (register, deploy, triggers) appended.
func specWith(t *testing.T, metadata, tail string) *spec.MLPipeline {
	t.Helper()
	doc := "apiVersion: mlpipe.dev/v1alpha1\nkind: MLPipeline\nmetadata: " + metadata + "\nspec:\n" +
		"  data: {uri: s3://datasets/churn/train.csv, label: churned}\n" + tail
	p, err := spec.Load("mlpipe.yaml", []byte(doc))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return p
}

const registerDeploy = "  register: {store: s3://models/churn}\n  deploy: {kserve: {name: churn-isvc%s}}\n"

// deployTail is registerDeploy with an optional kserve namespace.
func deployTail(ns string) string {
	if ns != "" {
		ns = ", namespace: " + ns
	}
	return strings.Replace(registerDeploy, "%s", ns, 1)
}

// kubernetesTail deploys churn-pred with the kubernetes target, into ns when it is set.
func kubernetesTail(ns string) string {
	if ns != "" {
		ns = ", namespace: " + ns
	}
	return "  register: {store: s3://models/churn}\n  deploy: {kubernetes: {name: churn-pred" + ns + "}}\n"
}

func TestRBACObjects(t *testing.T) {
	kserveRules := []rbacv1.PolicyRule{{
		APIGroups: []string{"serving.kserve.io"}, Resources: []string{"inferenceservices"},
		ResourceNames: []string{"churn-isvc"}, Verbs: []string{"get", "create", "patch"},
	}, {APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"list"}}}
	// What deploy --target=kubernetes needs: apply (patch, and create on a missing object, which the API server
	// authorizes with the object's name) the Deployment and the Service, read the Deployment, and list the
	// predictor's ReplicaSets and Pods; nothing else, and names wherever a verb allows them.
	kubernetesRules := []rbacv1.PolicyRule{
		{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, ResourceNames: []string{"churn-pred"}, Verbs: []string{"get", "create", "patch"}},
		{APIGroups: []string{""}, Resources: []string{"services"}, ResourceNames: []string{"churn-pred"}, Verbs: []string{"create", "patch"}},
		{APIGroups: []string{"apps"}, Resources: []string{"replicasets"}, Verbs: []string{"list"}},
		{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"list"}},
	}
	tests := []struct {
		name           string
		metadata, tail string
		// want* are the objects' namespace/name, and the RoleBinding subject's namespace.
		wantSA, wantRole, wantSubjectNS string
		wantWarnings                    int
		// wantRules are the Role's rules; nil means kserveRules.
		wantRules []rbacv1.PolicyRule
	}{{
		name:     "no namespaces: everything in the namespace applied to",
		metadata: "{name: churn}", tail: deployTail(""),
		wantSA: "/churn-runner", wantRole: "/churn-runner", wantSubjectNS: "",
	}, {
		name:     "deploy into the pipeline's namespace",
		metadata: "{name: churn, namespace: ml}", tail: deployTail(""),
		wantSA: "ml/churn-runner", wantRole: "ml/churn-runner", wantSubjectNS: "ml",
	}, {
		name:     "deploy into another namespace",
		metadata: "{name: churn, namespace: ml}", tail: deployTail("serving"),
		wantSA: "ml/churn-runner", wantRole: "serving/ml-churn-runner", wantSubjectNS: "ml",
	}, {
		name:     "deploy into a namespace while the pipeline has none",
		metadata: "{name: churn}", tail: deployTail("serving"),
		wantSA: "/churn-runner", wantRole: "serving/churn-runner", wantSubjectNS: "default", wantWarnings: 1,
	}, {
		name:     "long names stay within 63 characters",
		metadata: "{name: " + strings.Repeat("p", 40) + ", namespace: " + strings.Repeat("n", 63) + "}", tail: deployTail("serving"),
		wantSA:        strings.Repeat("n", 63) + "/" + strings.Repeat("p", 40) + "-runner",
		wantRole:      "serving/nnnnnnnnnnnnnnnnnnnnnnnn64783b9c75daf92c27a1eb11ef155d34-runner",
		wantSubjectNS: strings.Repeat("n", 63),
	}, {
		name:     "kubernetes target in the pipeline's namespace",
		metadata: "{name: churn, namespace: ml}", tail: kubernetesTail(""),
		wantSA: "ml/churn-runner", wantRole: "ml/churn-runner", wantSubjectNS: "ml", wantRules: kubernetesRules,
	}, {
		name:     "kubernetes target in another namespace",
		metadata: "{name: churn, namespace: ml}", tail: kubernetesTail("serving"),
		wantSA: "ml/churn-runner", wantRole: "serving/ml-churn-runner", wantSubjectNS: "ml", wantRules: kubernetesRules,
	}, {
		name:     "kubernetes target in a namespace while the pipeline has none",
		metadata: "{name: churn}", tail: kubernetesTail("serving"),
		wantSA: "/churn-runner", wantRole: "serving/churn-runner", wantSubjectNS: "default", wantWarnings: 1, wantRules: kubernetesRules,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := specWith(t, tt.metadata, tt.tail)
			out, err := Generate(context.Background(), p, Options{})
			if err != nil {
				t.Fatalf("Generate: %v", err)
			}
			if out.ServiceAccount == nil || out.Role == nil || out.RoleBinding == nil {
				t.Fatalf("ServiceAccount, Role, RoleBinding = %v, %v, %v; want all three", out.ServiceAccount, out.Role, out.RoleBinding)
			}
			if got := out.ServiceAccount.Namespace + "/" + out.ServiceAccount.Name; got != tt.wantSA {
				t.Errorf("ServiceAccount = %s, want %s", got, tt.wantSA)
			}
			for _, got := range []string{out.Role.Namespace + "/" + out.Role.Name, out.RoleBinding.Namespace + "/" + out.RoleBinding.Name} {
				if got != tt.wantRole {
					t.Errorf("Role/RoleBinding = %s, want %s", got, tt.wantRole)
				}
			}
			for _, n := range []string{out.ServiceAccount.Name, out.Role.Name} {
				if len(n) > 63 {
					t.Errorf("name %q has %d characters, more than 63", n, len(n))
				}
			}
			wantRules := tt.wantRules
			if wantRules == nil {
				wantRules = kserveRules
			}
			if diff := cmp.Diff(wantRules, out.Role.Rules); diff != "" {
				t.Errorf("Role rules (-want +got):\n%s", diff)
			}
			wantRef := rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: out.Role.Name}
			if diff := cmp.Diff(wantRef, out.RoleBinding.RoleRef); diff != "" {
				t.Errorf("roleRef (-want +got):\n%s", diff)
			}
			wantSubjects := []rbacv1.Subject{{Kind: "ServiceAccount", Name: out.ServiceAccount.Name, Namespace: tt.wantSubjectNS}}
			if diff := cmp.Diff(wantSubjects, out.RoleBinding.Subjects); diff != "" {
				t.Errorf("subjects (-want +got):\n%s", diff)
			}
			if got := out.PipelineRun.Spec.TaskRunTemplate.ServiceAccountName; got != out.ServiceAccount.Name {
				t.Errorf("sample PipelineRun serviceAccountName = %q, want %s", got, out.ServiceAccount.Name)
			}
			if !strings.Contains(string(file(t, out, "kustomization.yaml")), "  - rbac.yaml\n") {
				t.Errorf("kustomization.yaml does not list rbac.yaml:\n%s", file(t, out, "kustomization.yaml"))
			}
			if len(out.Warnings) != tt.wantWarnings {
				t.Errorf("warnings = %v, want %d", out.Warnings, tt.wantWarnings)
			}
		})
	}
}

// TestRunnerOnEveryRun: the schedule's and the S3 trigger's runs use the runner too; without deploy nothing
// names it and nothing is granted.
func TestRunnerOnEveryRun(t *testing.T) {
	const triggers = "  triggers:\n    schedule: {cron: '@daily'}\n    s3: {bucket: datasets}\n"
	tests := []struct {
		name   string
		tail   string
		wantSA string
	}{
		{name: "with deploy", tail: deployTail("") + triggers, wantSA: "churn-runner"},
		{name: "without deploy", tail: triggers},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Generate(context.Background(), specWith(t, "{name: churn, namespace: ml}", tt.tail), Options{})
			if err != nil {
				t.Fatalf("Generate: %v", err)
			}
			if got := out.PipelineRun.Spec.TaskRunTemplate.ServiceAccountName; got != tt.wantSA {
				t.Errorf("sample PipelineRun serviceAccountName = %q, want %q", got, tt.wantSA)
			}
			if got := out.Schedule.Spec.PipelineRunTemplate.TaskRunTemplate.ServiceAccountName; got != tt.wantSA {
				t.Errorf("schedule serviceAccountName = %q, want %q", got, tt.wantSA)
			}
			tt2 := file(t, out, "triggers/triggertemplate.yaml")
			if got := strings.Contains(string(tt2), "serviceAccountName: churn-runner"); got != (tt.wantSA != "") {
				t.Errorf("TriggerTemplate names the runner: %v, want %v:\n%s", got, tt.wantSA != "", tt2)
			}
			if tt.wantSA == "" {
				if out.ServiceAccount != nil || out.Role != nil || out.RoleBinding != nil {
					t.Errorf("RBAC objects without deploy: %v %v %v", out.ServiceAccount, out.Role, out.RoleBinding)
				}
				for _, f := range out.Files {
					if f.Name == RBACFile {
						t.Errorf("%s generated without deploy", RBACFile)
					}
				}
				if strings.Contains(string(file(t, out, "kustomization.yaml")), "  - "+RBACFile+"\n") {
					t.Errorf("kustomization.yaml lists %s without deploy", RBACFile)
				}
			}
		})
	}
}

// TestKustomizationSetsNoNamespace: kustomize's namespace would move the Role out of the deploy namespace, so
// every namespaced object names its own namespace instead.
func TestKustomizationSetsNoNamespace(t *testing.T) {
	out, err := Generate(context.Background(), loadExample(t, "pytorch-gpu"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var k struct {
		Namespace string   `json:"namespace"`
		Resources []string `json:"resources"`
	}
	if err := yaml.Unmarshal(file(t, out, "kustomization.yaml"), &k); err != nil {
		t.Fatal(err)
	}
	if k.Namespace != "" {
		t.Errorf("kustomization namespace = %q, want none", k.Namespace)
	}
	for _, task := range out.Tasks {
		if task.Namespace != "ml" {
			t.Errorf("Task %s namespace = %q, want ml", task.Name, task.Namespace)
		}
	}
	if out.Pipeline.Namespace != "ml" || out.Role.Namespace != "serving" {
		t.Errorf("Pipeline in %q, Role in %q; want ml, serving", out.Pipeline.Namespace, out.Role.Namespace)
	}
}

// TestRBACRejected shows that what rbac.yaml.tmpl renders is decoded strictly and checked.
func TestRBACRejected(t *testing.T) {
	const sa = "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: fraud-runner, namespace: ml}\n---\n"
	const role = "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: ml-fraud-runner, namespace: serving}\n" +
		"rules:\n  - {apiGroups: [serving.kserve.io], resources: [inferenceservices], verbs: [get, create, patch]}\n---\n"
	const binding = "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: ml-fraud-runner, namespace: serving}\n" +
		"roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: ml-fraud-runner}\n"
	tests := []struct {
		name, body, want string
	}{{
		name: "wildcard verb",
		body: sa + strings.Replace(role, "verbs: [get, create, patch]", `verbs: ["*"]`, 1) + binding + "subjects: [{kind: ServiceAccount, name: fraud-runner, namespace: ml}]\n",
		want: "grants a wildcard",
	}, {
		name: "unknown field",
		body: sa + strings.Replace(role, "rules:", "rulez:", 1) + binding + "subjects: [{kind: ServiceAccount, name: fraud-runner, namespace: ml}]\n",
		want: `unknown field "rulez"`,
	}, {
		name: "binds another ServiceAccount",
		body: sa + role + binding + "subjects: [{kind: ServiceAccount, name: default, namespace: ml}]\n",
		want: "must bind exactly ServiceAccount fraud-runner",
	}, {
		name: "Role in the pipeline's namespace",
		body: sa + strings.Replace(role, "namespace: serving", "namespace: ml", 1) + binding + "subjects: [{kind: ServiceAccount, name: fraud-runner, namespace: ml}]\n",
		want: `must be in the deploy namespace "serving"`,
	}, {
		name: "no ServiceAccount",
		body: role + binding + "subjects: [{kind: ServiceAccount, name: fraud-runner, namespace: ml}]\n",
		want: "want a ServiceAccount, a Role and a RoleBinding",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, "rbac.yaml.tmpl", tt.body)
			r, err := NewRenderer(dir)
			if err != nil {
				t.Fatal(err)
			}
			_, err = r.Generate(context.Background(), loadExample(t, "pytorch-gpu"), Options{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Generate() error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// file returns the generated file called name.
func file(t *testing.T, out *Output, name string) []byte {
	t.Helper()
	for _, f := range out.Files {
		if f.Name == name {
			return f.Data
		}
	}
	t.Fatalf("no generated file %s", name)
	return nil
}
