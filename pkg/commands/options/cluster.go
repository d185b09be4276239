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

package options

import (
	"fmt"

	"github.com/spf13/cobra"
	versioned "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	"k8s.io/client-go/tools/clientcmd"
)

// ClusterOptions select the cluster and namespace of a verb that reads or creates cluster objects (mlpipe
// resume, mlpipe cache explain --cluster). Only such verbs register them: a local verb never builds a client.
type ClusterOptions struct {
	// Kubeconfig is the kubeconfig file; empty: the KUBECONFIG variable, else ~/.kube/config.
	Kubeconfig string
	// Context is the kubeconfig context; empty: the current one.
	Context string
	// Namespace is the namespace of the objects; empty: the context's namespace, else "default".
	Namespace string
}

// AddClusterOptions registers --kubeconfig, --context and -n/--namespace.
func AddClusterOptions(cmd *cobra.Command, o *ClusterOptions) {
	cmd.Flags().StringVar(&o.Kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)")
	cmd.Flags().StringVar(&o.Context, "context", "", "kubeconfig context (default: the current context)")
	cmd.Flags().StringVarP(&o.Namespace, "namespace", "n", "", "namespace of the PipelineRun (default: the context's namespace)")
}

// clientConfig is the kubeconfig the flags name, loaded with kubectl's rules.
func (o *ClusterOptions) clientConfig() clientcmd.ClientConfig {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = o.Kubeconfig
	return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: o.Context})
}

// Tekton returns a Tekton clientset for the cluster and the namespace to use.
func (o *ClusterOptions) Tekton() (versioned.Interface, string, error) {
	cc := o.clientConfig()
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, "", fmt.Errorf("error loading the kubeconfig: %w", err)
	}
	ns := o.Namespace
	if ns == "" {
		if ns, _, err = cc.Namespace(); err != nil {
			return nil, "", fmt.Errorf("error reading the namespace of the kubeconfig context: %w", err)
		}
	}
	tc, err := versioned.NewForConfig(cfg)
	if err != nil {
		return nil, "", fmt.Errorf("error creating the Tekton client: %w", err)
	}
	return tc, ns, nil
}
