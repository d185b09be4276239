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
	"context"
	"errors"
	"fmt"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	versioned "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// CancelStatus is the spec.status Replace gives the runs it cancels: Tekton's CancelledRunFinally, which
// cancels the run's running TaskRuns, creates no more of its DAG tasks and then runs its finally tasks (the
// alert), after which the run ends Succeeded=False with reason Cancelled. Plain Cancelled would skip finally.
const CancelStatus = v1.PipelineRunSpecStatusCancelledRunFinally

// CancelPatch is the JSON merge patch Cancel sends: {"spec":{"status":"CancelledRunFinally"}}.
var CancelPatch = []byte(`{"spec":{"status":"` + string(CancelStatus) + `"}}`)

// Cancel asks Tekton to cancel runs for Replace, patching each with CancelPatch; a run already gone is fine.
// Every surface that replaces runs (the schedule reconciler, the interceptor, the receiver) calls it, so they
// cancel the same way.
func Cancel(ctx context.Context, tekton versioned.Interface, runs []*v1.PipelineRun) error {
	if tekton == nil {
		return errors.New("no Tekton client to cancel runs with")
	}
	for _, r := range runs {
		_, err := tekton.TektonV1().PipelineRuns(r.Namespace).Patch(ctx, r.Name, types.MergePatchType, CancelPatch, metav1.PatchOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("error cancelling PipelineRun %s/%s: %w", r.Namespace, r.Name, err)
		}
	}
	return nil
}
