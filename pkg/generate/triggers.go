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
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/mlpipe/mlpipe/pkg/events"
	"github.com/mlpipe/mlpipe/pkg/spec"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	triggerscontexts "github.com/tektoncd/triggers/pkg/apis/triggers/contexts"
	triggersv1 "github.com/tektoncd/triggers/pkg/apis/triggers/v1beta1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"knative.dev/pkg/apis"
	"sigs.k8s.io/yaml"
)

// Names of mlpipe's S3 interceptor as config/ installs it (cmd/mlpipe-webhooks).
const (
	// InterceptorName is the ClusterInterceptor (and the path it serves).
	InterceptorName = "mlpipe-s3"
	// InterceptorNamespace is where cmd/mlpipe-webhooks runs.
	InterceptorNamespace = "mlpipe"
	// InterceptorService is its Service.
	InterceptorService = "mlpipe-webhooks"
	// InterceptorServiceAccount is its ServiceAccount, granted read access to each trigger's Secret.
	InterceptorServiceAccount = "mlpipe-webhooks"
)

// TriggersData is what the triggers-*.yaml.tmpl templates render.
type TriggersData struct {
	// Name and Namespace are the pipeline's.
	Name, Namespace string
	// Bucket, Prefix, Suffix, Marker and Events are spec.triggers.s3's filter.
	Bucket, Prefix, Suffix, Marker string
	Events                         []string
	ConcurrencyPolicy              string
	// ListenerName, TriggerName, BindingName and TemplateName name the Triggers objects.
	ListenerName, TriggerName, BindingName, TemplateName string
	// ServiceAccount is the EventListener's; ClusterBindingName binds it to the cluster-scoped reads.
	ServiceAccount, ClusterBindingName string
	// SecretName holds the bearer token (key "token"); SecretReader is the Role that lets the interceptor read it.
	SecretName, SecretReader string
	// InterceptorName, InterceptorNamespace, InterceptorService and InterceptorServiceAccount locate mlpipe's
	// interceptor.
	InterceptorName, InterceptorNamespace, InterceptorService, InterceptorServiceAccount string
	// WorkspaceSize and StorageClass shape the run's workspace like the sample PipelineRun's.
	WorkspaceSize, StorageClass string
	// RunnerServiceAccount is what the run's TaskRuns run as (RunnerServiceAccount); empty without spec.deploy.
	RunnerServiceAccount string
}

func newTriggersData(p *spec.MLPipeline) *TriggersData {
	s3 := p.Spec.Triggers.S3
	n := p.Metadata.Name
	d := &TriggersData{
		Name: n, Namespace: p.Metadata.Namespace,
		Bucket: s3.Bucket, Prefix: s3.Prefix, Suffix: s3.Suffix, Marker: s3.Marker, Events: s3.Events,
		ConcurrencyPolicy: s3.ConcurrencyPolicy,
		ListenerName:      n + "-s3", TriggerName: n + "-s3", BindingName: n + "-s3", TemplateName: n + "-s3",
		ServiceAccount: n + "-s3-listener", SecretName: n + "-s3-webhook", SecretReader: n + "-s3-webhook-reader",
		ClusterBindingName:   events.NameFor(p.Metadata.Namespace+"-"+n, "s3-listener", p.Metadata.Namespace+"/"+n),
		InterceptorName:      InterceptorName,
		InterceptorNamespace: InterceptorNamespace, InterceptorService: InterceptorService,
		InterceptorServiceAccount: InterceptorServiceAccount,
		WorkspaceSize:             "1Gi",
	}
	if p.Spec.Deploy != nil {
		d.RunnerServiceAccount = RunnerServiceAccount(p)
	}
	if len(d.Events) == 0 {
		d.Events = []string{"s3:ObjectCreated:*"}
	}
	if d.ConcurrencyPolicy == "" {
		d.ConcurrencyPolicy = "Allow"
	}
	if w := p.Spec.Workspace; w != nil {
		if w.Size != "" {
			d.WorkspaceSize = w.Size
		}
		d.StorageClass = w.StorageClass
	}
	return d
}

// triggerFiles renders the Tekton Triggers resources of spec.triggers.s3 (nil when the spec has none) and checks
// them with Triggers' own SetDefaults and Validate, the PipelineRun they create with Tekton's, and the RBAC
// objects by strict decoding.
func (r *Renderer) triggerFiles(ctx context.Context, p *spec.MLPipeline, opts Options) ([]File, error) {
	if p.Spec.Triggers == nil || p.Spec.Triggers.S3 == nil {
		return nil, nil
	}
	d := newTriggersData(p)
	for _, n := range []string{d.ListenerName, d.ServiceAccount, d.SecretReader, d.ClusterBindingName} {
		if errs := validation.IsDNS1123Subdomain(n); len(errs) > 0 {
			return nil, fmt.Errorf("triggers: generated name %q is invalid: %s", n, strings.Join(errs, "; "))
		}
	}
	specs := []struct {
		tmpl, file string
		check      func(file string, data []byte) error
	}{
		{"triggers-rbac.yaml.tmpl", "triggers/rbac.yaml", checkRBAC},
		{"triggers-binding.yaml.tmpl", "triggers/triggerbinding.yaml", checkTriggerBinding},
		{"triggers-template.yaml.tmpl", "triggers/triggertemplate.yaml", checkTriggerTemplate},
		{"triggers-trigger.yaml.tmpl", "triggers/trigger.yaml", checkTrigger},
		{"triggers-eventlistener.yaml.tmpl", "triggers/eventlistener.yaml", checkEventListener},
	}
	tctx := triggerscontexts.WithUpgradeViaDefaulting(ValidationContext(ctx, opts.When == WhenCEL))
	var files []File
	var errs []error
	for _, s := range specs {
		data, err := r.render(s.tmpl, d)
		if err != nil {
			return nil, err
		}
		if err := s.check(s.file, data); err != nil {
			errs = append(errs, err)
		}
		files = append(files, File{Name: s.file, Data: data})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if err := validateTriggers(tctx, files); err != nil {
		return nil, err
	}
	return files, nil
}

func fieldErr(kind, file string, err *apis.FieldError) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %s rejected by Tekton Triggers' validation: %w", file, kind, err)
}

func checkRBAC(file string, data []byte) error {
	var errs []error
	for i, doc := range splitYAML(data) {
		var meta struct{ Kind string }
		if err := yaml.Unmarshal(doc, &meta); err != nil {
			return fmt.Errorf("%s: document %d: %w", file, i, err)
		}
		var obj any
		switch meta.Kind {
		case "ServiceAccount":
			obj = &corev1.ServiceAccount{}
		case "Role", "ClusterRole":
			obj = &rbacv1.Role{}
		case "RoleBinding", "ClusterRoleBinding":
			obj = &rbacv1.RoleBinding{}
		default:
			errs = append(errs, fmt.Errorf("%s: document %d: unexpected kind %q", file, i, meta.Kind))
			continue
		}
		if err := strict(fmt.Sprintf("%s (document %d)", file, i), doc, obj); err != nil {
			errs = append(errs, err)
			continue
		}
		if role, ok := obj.(*rbacv1.Role); ok {
			for _, rule := range role.Rules {
				for _, list := range [][]string{rule.APIGroups, rule.Resources, rule.Verbs, rule.ResourceNames} {
					for _, v := range list {
						if v == "*" {
							errs = append(errs, fmt.Errorf("%s: %s %s grants a wildcard", file, meta.Kind, role.Name))
						}
					}
				}
			}
		}
	}
	return errors.Join(errs...)
}

var docSep = regexp.MustCompile(`(?m)^---\s*$`)

func splitYAML(data []byte) [][]byte {
	var docs [][]byte
	for _, d := range docSep.Split(string(data), -1) {
		if len(bytes.TrimSpace(stripComments([]byte(d)))) > 0 {
			docs = append(docs, []byte(d))
		}
	}
	return docs
}

func stripComments(b []byte) []byte {
	var out [][]byte
	for _, l := range bytes.Split(b, []byte("\n")) {
		if !bytes.HasPrefix(bytes.TrimSpace(l), []byte("#")) {
			out = append(out, l)
		}
	}
	return bytes.Join(out, []byte("\n"))
}

func checkTriggerBinding(file string, data []byte) error {
	return strict(file, data, &triggersv1.TriggerBinding{})
}

func checkTriggerTemplate(file string, data []byte) error {
	return strict(file, data, &triggersv1.TriggerTemplate{})
}

func checkTrigger(file string, data []byte) error { return strict(file, data, &triggersv1.Trigger{}) }

func checkEventListener(file string, data []byte) error {
	return strict(file, data, &triggersv1.EventListener{})
}

// validateTriggers runs Triggers' SetDefaults and Validate on every object, checks that the Trigger's
// bindings, template and interceptor params fit together, and validates the PipelineRun the template creates
// with Tekton's own code (with sample values for its params).
func validateTriggers(ctx context.Context, files []File) error {
	get := func(name string) []byte {
		for _, f := range files {
			if f.Name == name {
				return f.Data
			}
		}
		return nil
	}
	var errs []error
	tb := &triggersv1.TriggerBinding{}
	_ = yaml.Unmarshal(get("triggers/triggerbinding.yaml"), tb)
	tb.SetDefaults(ctx)
	errs = append(errs, fieldErr("TriggerBinding", "triggers/triggerbinding.yaml", tb.Validate(ctx)))

	tt := &triggersv1.TriggerTemplate{}
	_ = yaml.Unmarshal(get("triggers/triggertemplate.yaml"), tt)
	tt.SetDefaults(ctx)
	errs = append(errs, fieldErr("TriggerTemplate", "triggers/triggertemplate.yaml", tt.Validate(ctx)))

	tr := &triggersv1.Trigger{}
	_ = yaml.Unmarshal(get("triggers/trigger.yaml"), tr)
	tr.SetDefaults(ctx)
	errs = append(errs, fieldErr("Trigger", "triggers/trigger.yaml", tr.Validate(ctx)))

	el := &triggersv1.EventListener{}
	_ = yaml.Unmarshal(get("triggers/eventlistener.yaml"), el)
	el.SetDefaults(ctx)
	errs = append(errs, fieldErr("EventListener", "triggers/eventlistener.yaml", el.Validate(ctx)))

	// The pieces must refer to each other.
	if len(el.Spec.Triggers) != 1 || el.Spec.Triggers[0].TriggerRef != tr.Name {
		errs = append(errs, fmt.Errorf("triggers/eventlistener.yaml: must refer to Trigger %s", tr.Name))
	}
	if tr.Spec.Template.Ref == nil || *tr.Spec.Template.Ref != tt.Name {
		errs = append(errs, fmt.Errorf("triggers/trigger.yaml: must refer to TriggerTemplate %s", tt.Name))
	}
	if len(tr.Spec.Bindings) != 1 || tr.Spec.Bindings[0].Ref != tb.Name {
		errs = append(errs, fmt.Errorf("triggers/trigger.yaml: must refer to TriggerBinding %s", tb.Name))
	}
	if len(tr.Spec.Interceptors) != 1 || tr.Spec.Interceptors[0].Ref.Name != InterceptorName {
		errs = append(errs, fmt.Errorf("triggers/trigger.yaml: must use the ClusterInterceptor %s (installed by config/410-webhooks.yaml)", InterceptorName))
	}
	bound := map[string]bool{}
	for _, p := range tb.Spec.Params {
		bound[p.Name] = true
	}
	for _, p := range tt.Spec.Params {
		if !bound[p.Name] && p.Default == nil {
			errs = append(errs, fmt.Errorf("triggers/triggertemplate.yaml: param %s is neither bound nor defaulted", p.Name))
		}
	}
	for i, rt := range tt.Spec.ResourceTemplates {
		raw := string(rt.Raw)
		for _, p := range tt.Spec.Params {
			sample := "sample"
			switch p.Name {
			case "run-name":
				sample = "pipeline-s3-0123456789abcdef"
			case "uri":
				sample = "s3://bucket/key.csv"
			}
			raw = strings.ReplaceAll(raw, "$(tt.params."+p.Name+")", sample)
		}
		pr := &v1.PipelineRun{}
		if err := yaml.UnmarshalStrict([]byte(raw), pr); err != nil {
			errs = append(errs, fmt.Errorf("triggers/triggertemplate.yaml: resourcetemplates[%d] is not a Tekton v1 PipelineRun: %w", i, err))
			continue
		}
		pr.SetDefaults(ctx)
		if err := pr.Validate(ctx); err != nil {
			errs = append(errs, fmt.Errorf("triggers/triggertemplate.yaml: resourcetemplates[%d] rejected by Tekton's validation: %w", i, err))
		}
		if pr.GenerateName != "" || pr.Name == "" {
			errs = append(errs, fmt.Errorf("triggers/triggertemplate.yaml: resourcetemplates[%d] must set metadata.name from the dedup key, not generateName", i))
		}
	}
	return errors.Join(errs...)
}
