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
	"sync"
	"testing"
	"time"

	"github.com/mlpipe/mlpipe/test/cluster"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

var (
	kserveOnce sync.Once
	kserveErr  error
)

// startKServe runs KServe's own controller manager (cluster.KServeVersion, Standard mode) against the shared
// node once: an InferenceService the deploy step applies becomes a Deployment whose Pod really serves the model,
// and KServe itself writes Ready and status.url.
func startKServe(t *testing.T, c *cluster.Cluster) {
	t.Helper()
	cluster.RequireTools(t, "kserve")
	kserveOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		kserveErr = c.StartKServe(ctx)
	})
	if kserveErr != nil {
		t.Fatalf("starting KServe %s: %v", cluster.KServeVersion, kserveErr)
	}
}

// predictorPodIP waits for the ready predictor Pod KServe made for an InferenceService and returns its IP.
func predictorPodIP(t *testing.T, c *cluster.Cluster, ns, isvc string) string {
	t.Helper()
	var ip string
	err := wait.PollUntilContextTimeout(context.Background(), 500*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		pods, err := c.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "serving.kserve.io/inferenceservice=" + isvc})
		if err != nil {
			return false, nil
		}
		for _, p := range pods.Items {
			for _, cond := range p.Status.Conditions {
				if cond.Type == corev1.PodReady && cond.Status == corev1.ConditionTrue && p.DeletionTimestamp == nil {
					ip = p.Status.PodIP
					return true, nil
				}
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("no ready predictor Pod of InferenceService %s/%s: %v", ns, isvc, err)
	}
	return ip
}
