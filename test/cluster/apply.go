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
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	tektonscheme "github.com/tektoncd/pipeline/pkg/client/clientset/versioned/scheme"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
)

// FieldManager is the server-side apply field manager of the harness.
const FieldManager = "mlpipe-test"

// ApplyYAML server-side applies every object of a (multi-document) YAML or JSON stream, in order, with strict
// field validation, as `kubectl apply --server-side` would: the API server checks each against its CRD schema.
// Namespaced objects without a namespace go to ns. It returns the objects as the API server stored them.
func (c *Cluster) ApplyYAML(ctx context.Context, ns string, data []byte) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var objs []*unstructured.Unstructured
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, fmt.Errorf("error decoding YAML: %w", err)
		}
		if len(u.Object) == 0 {
			continue
		}
		objs = append(objs, u)
	}
	return c.applyAll(ctx, ns, objs)
}

// ApplyFiles applies YAML files; a directory stands for its *.yaml, *.yml and *.json files (recursively, in
// lexical order), except kustomization.yaml. Use Kubectl("apply", "-k", dir) to apply through kustomize.
func (c *Cluster) ApplyFiles(ctx context.Context, ns string, paths ...string) ([]*unstructured.Unstructured, error) {
	var files []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		var found []string
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			switch name := d.Name(); {
			case name == "kustomization.yaml" || name == "kustomization.yml":
			case strings.HasSuffix(name, ".yaml"), strings.HasSuffix(name, ".yml"), strings.HasSuffix(name, ".json"):
				found = append(found, path)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		sort.Strings(found)
		files = append(files, found...)
	}
	var all []*unstructured.Unstructured
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		objs, err := c.ApplyYAML(ctx, ns, data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		all = append(all, objs...)
	}
	return all, nil
}

// Apply server-side applies typed objects (Kubernetes or Tekton types, for example a *v1.Pipeline straight from
// the generator); their kind comes from the type when TypeMeta is empty.
func (c *Cluster) Apply(ctx context.Context, ns string, objs ...runtime.Object) ([]*unstructured.Unstructured, error) {
	var us []*unstructured.Unstructured
	for _, obj := range objs {
		gvk := obj.GetObjectKind().GroupVersionKind()
		if gvk.Empty() {
			kinds, _, err := objectScheme.ObjectKinds(obj)
			if err != nil {
				return nil, fmt.Errorf("error finding the kind of %T: %w", obj, err)
			}
			gvk = kinds[0]
		}
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
		if err != nil {
			return nil, fmt.Errorf("error converting %T: %w", obj, err)
		}
		u := &unstructured.Unstructured{Object: m}
		u.SetGroupVersionKind(gvk)
		us = append(us, u)
	}
	return c.applyAll(ctx, ns, us)
}

var objectScheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		panic(err)
	}
	if err := tektonscheme.AddToScheme(s); err != nil {
		panic(err)
	}
	return s
}()

func (c *Cluster) applyAll(ctx context.Context, ns string, objs []*unstructured.Unstructured) ([]*unstructured.Unstructured, error) {
	out := make([]*unstructured.Unstructured, 0, len(objs))
	for _, u := range objs {
		applied, err := c.applyOne(ctx, ns, u)
		if err != nil {
			return out, err
		}
		out = append(out, applied)
	}
	return out, nil
}

func (c *Cluster) applyOne(ctx context.Context, ns string, u *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	gvk := u.GroupVersionKind()
	what := fmt.Sprintf("%s %q", gvk.Kind, u.GetName())
	mapping, err := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) {
		// A CRD installed since the mapper last looked.
		c.mapper.Reset()
		mapping, err = c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: unknown kind %s: %w", what, gvk, err)
	}
	client := c.Dynamic.Resource(mapping.Resource)
	var ri interface {
		Patch(ctx context.Context, name string, pt types.PatchType, data []byte, options metav1.PatchOptions, subresources ...string) (*unstructured.Unstructured, error)
	} = client
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		if u.GetNamespace() == "" {
			u.SetNamespace(ns)
		}
		ri = client.Namespace(u.GetNamespace())
	}
	data, err := json.Marshal(u.Object)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	force := true
	applied, err := ri.Patch(ctx, u.GetName(), types.ApplyPatchType, data, metav1.PatchOptions{
		FieldManager:    FieldManager,
		Force:           &force,
		FieldValidation: metav1.FieldValidationStrict,
	})
	if err != nil {
		return nil, fmt.Errorf("error applying %s: %w", what, err)
	}
	return applied, nil
}

// Kubectl runs kubectl (built with kube-apiserver) against the cluster and returns its combined output.
func (c *Cluster) Kubectl(ctx context.Context, args ...string) ([]byte, error) {
	return c.runCLI(ctx, c.Tools.Kubectl, "kubectl", args)
}

// Tkn runs tkn against the cluster and returns its combined output. Tests that use it should start the cluster
// with WithTools("tkn"), so they skip when it is not built.
func (c *Cluster) Tkn(ctx context.Context, args ...string) ([]byte, error) {
	return c.runCLI(ctx, c.Tools.Tkn, "tkn", args)
}

func (c *Cluster) runCLI(ctx context.Context, bin, name string, args []string) ([]byte, error) {
	if !isExecutable(bin) {
		return nil, fmt.Errorf("%s is not built (%q); %s", name, bin, BuildHint)
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+c.Kubeconfig)
	cmd.Dir = c.Dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out)
	}
	return out, nil
}
