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

// Package clusteraccess names the environment variable through which the local runner tells a step whether it
// may contact a Kubernetes cluster. It is a leaf: pkg/localrun sets the variable, pkg/steps reads it, and neither
// imports the other.
package clusteraccess

import (
	"fmt"
	"os"
)

// EnvVar is the environment variable that carries the access mode of a step process.
const EnvVar = "MLPIPE_CLUSTER_ACCESS"

// Access is the value of EnvVar.
type Access string

const (
	// Unset means no runner said anything: the step decides from its own flags (a Pod applies, a laptop prints).
	Unset Access = ""
	// None means the step must not build a Kubernetes client nor contact any API server, whatever its flags say.
	// `mlpipe run` sets it for every step unless --deploy-to-cluster is given.
	None Access = "none"
	// Kubeconfig means the user asked for the cluster (`mlpipe run --deploy-to-cluster`): a step may apply to the
	// cluster KUBECONFIG (or ~/.kube/config) names.
	Kubeconfig Access = "kubeconfig"
)

// FromEnv reads EnvVar; an unknown value is an error, so that a typo never grants access.
func FromEnv() (Access, error) {
	switch a := Access(os.Getenv(EnvVar)); a {
	case Unset, None, Kubeconfig:
		return a, nil
	default:
		return "", fmt.Errorf("invalid %s=%q: want %q or %q", EnvVar, a, None, Kubeconfig)
	}
}
