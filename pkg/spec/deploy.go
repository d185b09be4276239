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

package spec

// Deploy targets: what spec.deploy serves the registered model with.
const (
	// TargetKServe is a KServe InferenceService (spec.deploy.kserve).
	TargetKServe = "kserve"
	// TargetKubernetes is a plain Deployment and Service (spec.deploy.kubernetes), for clusters without KServe.
	TargetKubernetes = "kubernetes"
)

// DefaultReplicas is the number of predictor Pods of spec.deploy.kubernetes.
const DefaultReplicas = 1

// Target returns the deploy target, TargetKServe or TargetKubernetes ("" when neither is set, which a loaded
// spec never has).
func (d *Deploy) Target() string {
	switch {
	case d == nil:
		return ""
	case d.Kubernetes != nil:
		return TargetKubernetes
	case d.KServe != nil:
		return TargetKServe
	}
	return ""
}

// Name returns the name of what serves the model: the InferenceService, or the Deployment and its Service.
func (d *Deploy) Name() string {
	switch d.Target() {
	case TargetKubernetes:
		return d.Kubernetes.Name
	case TargetKServe:
		return d.KServe.Name
	}
	return ""
}

// Namespace returns the namespace the model is served in (defaulted to metadata.namespace).
func (d *Deploy) Namespace() string {
	switch d.Target() {
	case TargetKubernetes:
		return d.Kubernetes.Namespace
	case TargetKServe:
		return d.KServe.Namespace
	}
	return ""
}

// targetField is the spec field of the deploy target, spec.deploy.kserve or spec.deploy.kubernetes.
func (d *Deploy) targetField() string {
	return "spec.deploy." + d.Target()
}
