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
	"errors"
	"fmt"
	"strings"

	"github.com/mlpipe/mlpipe/pkg/spec"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"knative.dev/pkg/kmeta"
	"sigs.k8s.io/yaml"
)

// RBACFile is the generated file holding the runner ServiceAccount and what it may do.
const RBACFile = "rbac.yaml"

// RunnerServiceAccount names the ServiceAccount a pipeline's runs use: <pipeline>-runner (within 63 characters).
func RunnerServiceAccount(p *spec.MLPipeline) string {
	return kmeta.ChildName(p.Metadata.Name, "-runner")
}

// runnerRoleName names the Role and RoleBinding that let the runner deploy: the ServiceAccount's name in the
// pipeline's own namespace, <namespace>-<pipeline>-runner in another one, so that pipelines of one name in two
// namespaces that deploy into a shared one do not overwrite each other's binding.
func runnerRoleName(p *spec.MLPipeline) string {
	ns := p.Metadata.Namespace
	if ns == "" || p.Spec.Deploy.Namespace() == ns {
		return RunnerServiceAccount(p)
	}
	return kmeta.ChildName(ns+"-"+p.Metadata.Name, "-runner")
}

// RBACData is what rbac.yaml.tmpl renders.
type RBACData struct {
	// Name and Namespace are the pipeline's; the ServiceAccount lives in Namespace.
	Name, Namespace string
	// ServiceAccount names the ServiceAccount; RoleName the Role and the RoleBinding.
	ServiceAccount, RoleName string
	// DeployNamespace holds the Role and the RoleBinding: the namespace deploy applies to.
	DeployNamespace string
	// SubjectNamespace is the ServiceAccount's namespace as the RoleBinding names it: empty when the binding
	// lives in the ServiceAccount's own namespace, "default" when the pipeline's namespace is not known.
	SubjectNamespace string
	// Target is spec.deploy's target: spec.TargetKServe or spec.TargetKubernetes.
	Target string
	// Serving names what the Role grants access to: the InferenceService, or the Deployment and the Service.
	Serving string
	// InferenceService is Serving for the kserve target, empty for the kubernetes one.
	InferenceService string
}

func newRBACData(p *spec.MLPipeline) *RBACData {
	dep := p.Spec.Deploy
	d := &RBACData{
		Name: p.Metadata.Name, Namespace: p.Metadata.Namespace,
		ServiceAccount:   RunnerServiceAccount(p),
		RoleName:         runnerRoleName(p),
		DeployNamespace:  dep.Namespace(),
		SubjectNamespace: p.Metadata.Namespace,
		Target:           dep.Target(),
		Serving:          dep.Name(),
	}
	if d.Target == spec.TargetKServe {
		d.InferenceService = d.Serving
	}
	if d.Namespace == "" && d.DeployNamespace != "" {
		d.SubjectNamespace = "default" // spec.MLPipeline.Warnings says to set metadata.namespace
	}
	return d
}

// rbac is the decoded content of rbac.yaml.
type rbac struct {
	ServiceAccount *corev1.ServiceAccount
	Role           *rbacv1.Role
	RoleBinding    *rbacv1.RoleBinding
}

// rbacFile renders the runner's ServiceAccount, Role and RoleBinding (nil without spec.deploy), strictly decoded
// into Kubernetes' own types and checked to refer to each other.
func (r *Renderer) rbacFile(p *spec.MLPipeline) (*File, *rbac, error) {
	if p.Spec.Deploy.Target() == "" {
		return nil, nil, nil
	}
	d := newRBACData(p)
	for _, n := range []string{d.ServiceAccount, d.RoleName} {
		if errs := validation.IsDNS1123Subdomain(n); len(errs) > 0 {
			return nil, nil, fmt.Errorf("%s: generated name %q is invalid: %s", RBACFile, n, strings.Join(errs, "; "))
		}
	}
	data, err := r.render("rbac.yaml.tmpl", d)
	if err != nil {
		return nil, nil, err
	}
	if err := checkRBAC(RBACFile, data); err != nil {
		return nil, nil, err
	}
	objs, err := decodeRBAC(data)
	if err != nil {
		return nil, nil, err
	}
	if err := objs.check(d); err != nil {
		return nil, nil, err
	}
	return &File{Name: RBACFile, Data: data}, objs, nil
}

// decodeRBAC reads rbac.yaml's three documents (checkRBAC already decoded each strictly).
func decodeRBAC(data []byte) (*rbac, error) {
	out := &rbac{}
	for i, doc := range splitYAML(data) {
		var meta struct{ Kind string }
		if err := yaml.Unmarshal(doc, &meta); err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", RBACFile, i, err)
		}
		var obj any
		switch meta.Kind {
		case "ServiceAccount":
			out.ServiceAccount = &corev1.ServiceAccount{}
			obj = out.ServiceAccount
		case "Role":
			out.Role = &rbacv1.Role{}
			obj = out.Role
		case "RoleBinding":
			out.RoleBinding = &rbacv1.RoleBinding{}
			obj = out.RoleBinding
		default:
			return nil, fmt.Errorf("%s: document %d: unexpected kind %q", RBACFile, i, meta.Kind)
		}
		if err := strict(fmt.Sprintf("%s (document %d)", RBACFile, i), doc, obj); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// check makes sure the objects refer to each other and sit where the deploy step needs them.
func (o *rbac) check(d *RBACData) error {
	if o.ServiceAccount == nil || o.Role == nil || o.RoleBinding == nil {
		return fmt.Errorf("%s: want a ServiceAccount, a Role and a RoleBinding", RBACFile)
	}
	var errs []error
	if o.ServiceAccount.Name != d.ServiceAccount || o.ServiceAccount.Namespace != d.Namespace {
		errs = append(errs, fmt.Errorf("%s: ServiceAccount must be %s in namespace %q", RBACFile, d.ServiceAccount, d.Namespace))
	}
	if o.Role.Name != d.RoleName || o.RoleBinding.Name != d.RoleName {
		errs = append(errs, fmt.Errorf("%s: Role and RoleBinding must be named %s", RBACFile, d.RoleName))
	}
	if o.Role.Namespace != d.DeployNamespace || o.RoleBinding.Namespace != d.DeployNamespace {
		errs = append(errs, fmt.Errorf("%s: Role and RoleBinding must be in the deploy namespace %q", RBACFile, d.DeployNamespace))
	}
	ref := o.RoleBinding.RoleRef
	if ref.APIGroup != rbacv1.GroupName || ref.Kind != "Role" || ref.Name != o.Role.Name {
		errs = append(errs, fmt.Errorf("%s: RoleBinding %s must refer to Role %s", RBACFile, o.RoleBinding.Name, o.Role.Name))
	}
	if s := o.RoleBinding.Subjects; len(s) != 1 || s[0].Kind != rbacv1.ServiceAccountKind || s[0].Name != o.ServiceAccount.Name || s[0].Namespace != d.SubjectNamespace {
		errs = append(errs, fmt.Errorf("%s: RoleBinding %s must bind exactly ServiceAccount %s", RBACFile, o.RoleBinding.Name, o.ServiceAccount.Name))
	}
	return errors.Join(errs...)
}

// checkRunsUseRunner makes sure the sample PipelineRun and the schedule's runs run as the generated
// ServiceAccount: under the namespace's default one, deploy is Forbidden.
func checkRunsUseRunner(out *Output) error {
	if out.ServiceAccount == nil {
		return nil
	}
	want := out.ServiceAccount.Name
	var errs []error
	if got := out.PipelineRun.Spec.TaskRunTemplate.ServiceAccountName; got != want {
		errs = append(errs, fmt.Errorf("pipelinerun.yaml: taskRunTemplate.serviceAccountName is %q, want %s (%s)", got, want, RBACFile))
	}
	if out.Schedule != nil {
		if got := out.Schedule.Spec.PipelineRunTemplate.TaskRunTemplate.ServiceAccountName; got != want {
			errs = append(errs, fmt.Errorf("schedule.yaml: pipelineRunTemplate.taskRunTemplate.serviceAccountName is %q, want %s (%s)", got, want, RBACFile))
		}
	}
	return errors.Join(errs...)
}
