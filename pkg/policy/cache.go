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

package policy

import (
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
)

// RunSelector is the label selector of a PipelineRun cache that serves the policy: the runs of a Pipeline,
// which Tekton's controller labels with PipelineLabel (and mlpipe's S3 paths label when they create them). A run
// started by hand is seen once Tekton's controller has labelled it.
const RunSelector = PipelineLabel

// SlimRun returns an informer transform that keeps of a PipelineRun only what the policy and dedup checks and
// the schedule reconciler read: name, namespace, UID, resource version, generation, creation and deletion time,
// labels, owner references, the annotations named in keep, spec.pipelineRef, spec.status, the status conditions
// (done, cancelled) and the start and completion times. Thousands of runs of other Pipelines then cost little
// memory in the cache.
func SlimRun(keep ...string) cache.TransformFunc {
	return func(obj any) (any, error) {
		run, ok := obj.(*v1.PipelineRun)
		if !ok {
			return obj, nil
		}
		slim := &v1.PipelineRun{
			TypeMeta: run.TypeMeta,
			ObjectMeta: metav1.ObjectMeta{
				Name: run.Name, Namespace: run.Namespace, UID: run.UID, ResourceVersion: run.ResourceVersion, Generation: run.Generation,
				CreationTimestamp: run.CreationTimestamp, DeletionTimestamp: run.DeletionTimestamp, Labels: run.Labels,
				OwnerReferences: run.OwnerReferences,
			},
			Spec: v1.PipelineRunSpec{PipelineRef: run.Spec.PipelineRef, Status: run.Spec.Status},
		}
		for _, k := range keep {
			if v, ok := run.Annotations[k]; ok {
				if slim.Annotations == nil {
					slim.Annotations = map[string]string{}
				}
				slim.Annotations[k] = v
			}
		}
		slim.Status.Conditions = run.Status.Conditions
		slim.Status.StartTime = run.Status.StartTime
		slim.Status.CompletionTime = run.Status.CompletionTime
		return slim, nil
	}
}
