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

package engine

import (
	"sync"
	"time"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// DefaultAdmissionTTL is how long an admitted run that the cache does not show yet counts as active when
// Engine.AdmissionTTL is zero.
const DefaultAdmissionTTL = time.Minute

// slot is the Forbid/Replace state of one namespace/pipeline: its lock, held across each decision, and the runs
// this Engine admitted that its cache does not show yet (the "expectations" of Kubernetes' controllers).
type slot struct {
	mu sync.Mutex
	// admitted maps a run name to the time it was admitted.
	admitted map[string]time.Time
}

// slot returns the state of key, creating it.
func (e *Engine) slot(key string) *slot {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.slots == nil {
		e.slots = map[string]*slot{}
	}
	s := e.slots[key]
	if s == nil {
		s = &slot{admitted: map[string]time.Time{}}
		e.slots[key] = s
	}
	return s
}

// pending returns, as stand-in runs, the runs admitted in s that the cache does not show yet and that are younger
// than the TTL; it forgets the others. A run the cache shows is judged by the cache from then on. The caller
// holds s.mu.
func (e *Engine) pending(s *slot, ns string) []*v1.PipelineRun {
	now := e.clock().Now()
	var out []*v1.PipelineRun
	for name, at := range s.admitted {
		if _, err := e.Runs.PipelineRuns(ns).Get(name); err == nil {
			delete(s.admitted, name)
			continue
		}
		if now.Sub(at) >= e.admissionTTL() {
			e.logger().Warnw("an admitted run did not appear in the cache within the admission TTL; no longer counted as active", "namespace", ns, "run", name, "ttl", e.admissionTTL())
			delete(s.admitted, name)
			continue
		}
		out = append(out, &v1.PipelineRun{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, CreationTimestamp: metav1.NewTime(at)}})
	}
	return out
}

// Abandon tells the engine that the surface did not start run, which Handle admitted for t (the create was
// refused): it no longer counts as active, so the next notification can start. A surface calls it only when it
// knows the run was not created; after an ambiguous failure (a timeout) the run stays admitted until the cache
// shows it or AdmissionTTL passes.
func (e *Engine) Abandon(t *Target, run string) {
	s := e.slot(t.Namespace + "/" + t.Pipeline)
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.admitted, run)
}

func (e *Engine) admissionTTL() time.Duration {
	if e.AdmissionTTL <= 0 {
		return DefaultAdmissionTTL
	}
	return e.AdmissionTTL
}
