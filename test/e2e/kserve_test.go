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
package e2e

import (
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/mlpipe/mlpipe/test/cluster"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
)

// kserveModule is the KServe release whose InferenceService CRD the tests install (from the module cache; the
// module is not a dependency of mlpipe).
const kserveModule = "github.com/kserve/kserve@v0.16.0"

var (
	kserveOnce sync.Once
	kserveErr  error
)

// installKServeCRD installs KServe's own InferenceService CRD once.
func installKServeCRD(t *testing.T, c *cluster.Cluster) {
	t.Helper()
	kserveOnce.Do(func() {
		var err error
		defer func() { kserveErr = err }()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		var out []byte
		out, err = exec.CommandContext(ctx, "go", "mod", "download", "-json", kserveModule).Output()
		if err != nil {
			return
		}
		var info struct{ Dir string }
		if err = json.Unmarshal(out, &info); err != nil {
			return
		}
		err = c.InstallCRDs(filepath.Join(info.Dir, "config", "crd", "full", "serving.kserve.io_inferenceservices.yaml"))
	})
	if kserveErr != nil {
		t.Fatalf("installing KServe's InferenceService CRD (%s): %v", kserveModule, kserveErr)
	}
}

// playKServe stands in for KServe's controller, which does not run on the node yet: every InferenceService of
// the namespace gets the Ready condition and URL that KServe would write once its predictor is up.
func playKServe(t *testing.T, c *cluster.Cluster, ns string) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		ri := c.Dynamic.Resource(inferenceServices).Namespace(ns)
		_ = wait.PollUntilContextCancel(ctx, 500*time.Millisecond, true, func(ctx context.Context) (bool, error) {
			list, err := ri.List(ctx, metav1.ListOptions{})
			if err != nil {
				return false, nil
			}
			for i := range list.Items {
				isvc := &list.Items[i]
				if conds, _, _ := unstructured.NestedSlice(isvc.Object, "status", "conditions"); len(conds) > 0 {
					continue
				}
				url := "http://" + isvc.GetName() + "." + ns + ".svc.cluster.local"
				_ = unstructured.SetNestedField(isvc.Object, url, "status", "url")
				_ = unstructured.SetNestedSlice(isvc.Object, []any{map[string]any{
					"type": "Ready", "status": "True", "lastTransitionTime": time.Now().UTC().Format(time.RFC3339),
				}}, "status", "conditions")
				if _, err := ri.UpdateStatus(ctx, isvc, metav1.UpdateOptions{}); err != nil {
					t.Logf("stand-in KServe: %v", err)
				}
			}
			return false, nil
		})
	}()
	return func() { cancel(); <-done }
}
