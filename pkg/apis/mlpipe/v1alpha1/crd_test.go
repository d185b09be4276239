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

package v1alpha1

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"sigs.k8s.io/yaml"
)

// crdPath is the hand-written CRD, relative to this package.
var crdPath = filepath.Join("..", "..", "..", "..", "config", "300-pipelineschedule.yaml")

// loadCRD decodes the CRD strictly: a misspelt schema keyword is an error, not a silent no-op.
func loadCRD(t *testing.T) *apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	b, err := os.ReadFile(crdPath)
	if err != nil {
		t.Fatal(err)
	}
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := yaml.UnmarshalStrict(b, crd); err != nil {
		t.Fatalf("decoding %s: %v", crdPath, err)
	}
	return crd
}

// version returns the CRD's only version, which must be ours.
func version(t *testing.T, crd *apiextensionsv1.CustomResourceDefinition) *apiextensionsv1.CustomResourceDefinitionVersion {
	t.Helper()
	if len(crd.Spec.Versions) != 1 || crd.Spec.Versions[0].Name != SchemeGroupVersion.Version {
		t.Fatalf("versions = %v, want only %s", crd.Spec.Versions, SchemeGroupVersion.Version)
	}
	return &crd.Spec.Versions[0]
}

func TestCRD_Names(t *testing.T) {
	crd := loadCRD(t)
	v := version(t, crd)
	if got, want := crd.Name, "pipelineschedules."+SchemeGroupVersion.Group; got != want {
		t.Errorf("name = %q, want %q", got, want)
	}
	if crd.Spec.Group != SchemeGroupVersion.Group {
		t.Errorf("group = %q, want %q", crd.Spec.Group, SchemeGroupVersion.Group)
	}
	if crd.Spec.Scope != apiextensionsv1.NamespaceScoped {
		t.Errorf("scope = %q, want Namespaced", crd.Spec.Scope)
	}
	// The generated clientset and listers use these names.
	kind := (&PipelineSchedule{}).GetGroupVersionKind().Kind
	want := apiextensionsv1.CustomResourceDefinitionNames{
		Kind: kind, ListKind: reflect.TypeFor[PipelineScheduleList]().Name(),
		Plural: strings.ToLower(kind) + "s", Singular: strings.ToLower(kind),
	}
	got := crd.Spec.Names
	got.ShortNames, got.Categories = nil, nil
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("names (-want, +got):\n%s", d)
	}
	if !v.Served || !v.Storage {
		t.Errorf("served, storage = %t, %t; want both", v.Served, v.Storage)
	}
	// The controller writes status through UpdateStatus.
	if v.Subresources == nil || v.Subresources.Status == nil {
		t.Error("subresources.status is missing")
	}
	var columns []string
	for _, c := range v.AdditionalPrinterColumns {
		if c.Priority == 0 {
			columns = append(columns, c.Name)
		}
	}
	if d := cmp.Diff([]string{"Schedule", "Suspend", "Last Schedule", "Next", "Age"}, columns); d != "" {
		t.Errorf("printer columns (-want, +got):\n%s", d)
	}
}

// TestCRD_Structural runs the API server's own structural-schema check, which decides whether the
// CRD is accepted at all (and whether pruning and defaulting work).
func TestCRD_Structural(t *testing.T) {
	v := version(t, loadCRD(t))
	internal := &apiextensions.JSONSchemaProps{}
	if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(v.Schema.OpenAPIV3Schema, internal, nil); err != nil {
		t.Fatal(err)
	}
	s, err := schema.NewStructural(internal)
	if err != nil {
		t.Fatalf("NewStructural: %v", err)
	}
	if errs := schema.ValidateStructural(nil, s); len(errs) > 0 {
		t.Errorf("schema is not structural: %v", errs.ToAggregate())
	}
}

func TestCRD_SchemaMatchesTypes(t *testing.T) {
	root := version(t, loadCRD(t)).Schema.OpenAPIV3Schema

	// The top level: apiVersion, kind, metadata, spec, status.
	var top []string
	for name := range jsonFields(reflect.TypeFor[PipelineSchedule]()) {
		top = append(top, name)
	}
	if d := cmp.Diff(sortedKeys(root.Properties), sorted(top)); d != "" {
		t.Errorf("top-level properties (-schema, +Go):\n%s", d)
	}
	if !slices.Contains(root.Required, "spec") {
		t.Error(`top level: "spec" is not required`)
	}

	spec := root.Properties["spec"]
	compare(t, "spec", reflect.TypeFor[PipelineScheduleSpec](), &spec)
	status := root.Properties["status"]
	compare(t, "status", reflect.TypeFor[PipelineScheduleStatus](), &status)

	// What the types say in comments and validation, the schema says as constraints.
	policy := spec.Properties["concurrencyPolicy"]
	var enum []string
	for _, e := range policy.Enum {
		var s string
		if err := json.Unmarshal(e.Raw, &s); err != nil {
			t.Fatal(err)
		}
		enum = append(enum, s)
	}
	want := []string{string(AllowConcurrent), string(ForbidConcurrent), string(ReplaceConcurrent)}
	if d := cmp.Diff(want, enum); d != "" {
		t.Errorf("spec.concurrencyPolicy enum (-want, +got):\n%s", d)
	}
	for _, f := range []string{"startingDeadlineSeconds", "successfulRunsHistoryLimit", "failedRunsHistoryLimit"} {
		if m := spec.Properties[f].Minimum; m == nil || *m != 0 {
			t.Errorf("spec.%s: minimum = %v, want 0", f, m)
		}
	}
	tmpl := spec.Properties["pipelineRunTemplate"]
	if ref := tmpl.Properties["pipelineRef"]; !slices.Contains(ref.Required, "name") {
		t.Error("spec.pipelineRunTemplate.pipelineRef: name is not required")
	}
}

// TestCRD_PreserveUnknownOnlyInTektonTypes keeps x-kubernetes-preserve-unknown-fields to the
// Tekton-typed parts of the run template, where a full schema would copy Tekton's.
func TestCRD_PreserveUnknownOnlyInTektonTypes(t *testing.T) {
	root := version(t, loadCRD(t)).Schema.OpenAPIV3Schema
	var got []string
	var walk func(path string, s *apiextensionsv1.JSONSchemaProps)
	walk = func(path string, s *apiextensionsv1.JSONSchemaProps) {
		if s.XPreserveUnknownFields != nil && *s.XPreserveUnknownFields {
			got = append(got, path)
		}
		for name, p := range s.Properties {
			walk(path+"."+name, &p)
		}
		if s.Items != nil && s.Items.Schema != nil {
			walk(path+"[]", s.Items.Schema)
		}
		if s.AdditionalProperties != nil && s.AdditionalProperties.Schema != nil {
			walk(path+"{}", s.AdditionalProperties.Schema)
		}
	}
	walk("", root)
	sort.Strings(got)
	want := []string{
		".spec.pipelineRunTemplate.params[].value",
		".spec.pipelineRunTemplate.pipelineRef.params[]",
		".spec.pipelineRunTemplate.taskRunTemplate.podTemplate",
		".spec.pipelineRunTemplate.workspaces[]",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("x-kubernetes-preserve-unknown-fields (-want, +got):\n%s", d)
	}
}

// compare checks that schema s describes Go type typ: the same properties (a schema that keeps
// unknown fields may name fewer), matching types, and every field without omitempty required.
func compare(t *testing.T, path string, typ reflect.Type, s *apiextensionsv1.JSONSchemaProps) {
	t.Helper()
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	preserve := s.XPreserveUnknownFields != nil && *s.XPreserveUnknownFields
	if preserve && len(s.Properties) == 0 {
		return // any value: nothing more to compare
	}
	if reflect.PointerTo(typ).Implements(reflect.TypeFor[json.Marshaler]()) || typ.Implements(reflect.TypeFor[json.Marshaler]()) {
		// Times and durations marshal as strings.
		if s.Type != "string" {
			t.Errorf("%s: type %q, want string (%s marshals itself)", path, s.Type, typ)
		}
		return
	}
	want := map[reflect.Kind]string{
		reflect.String: "string", reflect.Bool: "boolean",
		reflect.Int32: "integer", reflect.Int64: "integer", reflect.Int: "integer",
		reflect.Float64: "number", reflect.Struct: "object", reflect.Map: "object",
		reflect.Slice: "array",
	}[typ.Kind()]
	if s.Type != want {
		t.Errorf("%s: type %q, want %q (Go %s)", path, s.Type, want, typ)
		return
	}
	switch typ.Kind() {
	case reflect.Int32, reflect.Int64:
		if f := typ.Kind().String(); s.Format != f {
			t.Errorf("%s: format %q, want %q", path, s.Format, f)
		}
	case reflect.Slice:
		if s.Items == nil || s.Items.Schema == nil {
			t.Errorf("%s: array without items", path)
			return
		}
		compare(t, path+"[]", typ.Elem(), s.Items.Schema)
	case reflect.Map:
		if s.AdditionalProperties == nil || s.AdditionalProperties.Schema == nil {
			t.Errorf("%s: map without additionalProperties", path)
			return
		}
		compare(t, path+"{}", typ.Elem(), s.AdditionalProperties.Schema)
	case reflect.Struct:
		fields := jsonFields(typ)
		for name, f := range fields {
			p, ok := s.Properties[name]
			if !ok {
				if !preserve {
					t.Errorf("%s: schema lacks field %q of %s", path, name, typ)
				}
				continue
			}
			compare(t, path+"."+name, f.Type, &p)
			if !f.omitempty && !slices.Contains(s.Required, name) {
				t.Errorf("%s: %q has no omitempty in %s but is not required", path, name, typ)
			}
		}
		for name := range s.Properties {
			if _, ok := fields[name]; !ok {
				t.Errorf("%s: schema names %q, which %s does not have", path, name, typ)
			}
		}
		for _, name := range s.Required {
			if _, ok := fields[name]; !ok {
				t.Errorf("%s: requires %q, which %s does not have", path, name, typ)
			}
		}
	}
}

type jsonField struct {
	reflect.StructField
	omitempty bool
}

// jsonFields returns the JSON fields of a struct type by name, with inlined and embedded
// structs flattened as encoding/json does.
func jsonFields(typ reflect.Type) map[string]jsonField {
	out := map[string]jsonField{}
	for i := range typ.NumField() {
		f := typ.Field(i)
		tag, hasTag := f.Tag.Lookup("json")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		if name == "" && (f.Anonymous || strings.Contains(opts, "inline")) {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for n, inner := range jsonFields(ft) {
					out[n] = inner
				}
				continue
			}
		}
		if !hasTag || name == "" {
			name = f.Name
		}
		out[name] = jsonField{StructField: f, omitempty: strings.Contains(opts, "omitempty")}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	return sorted(keys)
}

func sorted(s []string) []string {
	sort.Strings(s)
	return s
}
