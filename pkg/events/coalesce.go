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

package events

import (
	"context"
	"sync"
	"time"
)

// Coalescer collapses a burst of objects into one start: Wait holds each object for a quiet window, and only the
// object that no newer one of its group followed within the window goes on. It answers synchronously, so a
// caller acknowledges a superseded object only once a newer one holds its place.
type Coalescer struct {
	// Window is the quiet time after an object before it starts a run.
	Window time.Duration

	mu     sync.Mutex
	groups map[string]*waiter
}

type waiter struct {
	superseded chan struct{}
}

// Wait blocks for the quiet window of group. It returns true when o is the last object of the burst (start it),
// false when a newer object of the same group arrived (it takes o's place), and ctx's error when ctx ends
// first (the caller should fail, so the sender retries).
func (c *Coalescer) Wait(ctx context.Context, group string) (bool, error) {
	if c == nil || c.Window <= 0 {
		return true, nil
	}
	w := &waiter{superseded: make(chan struct{})}
	c.mu.Lock()
	if c.groups == nil {
		c.groups = map[string]*waiter{}
	}
	if prev := c.groups[group]; prev != nil {
		close(prev.superseded)
	}
	c.groups[group] = w
	c.mu.Unlock()

	timer := time.NewTimer(c.Window)
	defer timer.Stop()
	select {
	case <-w.superseded:
		return false, nil
	case <-timer.C:
		c.mu.Lock()
		defer c.mu.Unlock()
		select {
		case <-w.superseded:
			return false, nil
		default:
		}
		delete(c.groups, group)
		return true, nil
	case <-ctx.Done():
		c.mu.Lock()
		if c.groups[group] == w {
			delete(c.groups, group)
		}
		c.mu.Unlock()
		return false, ctx.Err()
	}
}
