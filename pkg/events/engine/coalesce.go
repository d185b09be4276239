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
	"context"
	"time"
)

// waiter is the object of a group that currently holds its quiet window.
type waiter struct {
	superseded chan struct{}
}

// wait holds the caller for window, timed by the engine's clock. It returns true when no newer object of group
// arrived meanwhile (start it), false when one did (it takes the caller's place: the caller is acknowledged as
// superseded only once the newer object holds the window), and ctx's error when ctx ends first (the caller
// fails, so the sender retries).
func (e *Engine) wait(ctx context.Context, group string, window time.Duration) (bool, error) {
	w := &waiter{superseded: make(chan struct{})}
	e.mu.Lock()
	if e.groups == nil {
		e.groups = map[string]*waiter{}
	}
	if prev := e.groups[group]; prev != nil {
		close(prev.superseded)
	}
	e.groups[group] = w
	// The timer starts under the lock, so a test that sees the clock's waiter knows this object holds the group.
	timer := e.clock().NewTimer(window)
	e.mu.Unlock()
	defer timer.Stop()
	select {
	case <-w.superseded:
		return false, nil
	case <-timer.C():
		e.mu.Lock()
		defer e.mu.Unlock()
		select {
		case <-w.superseded:
			return false, nil
		default:
		}
		delete(e.groups, group)
		return true, nil
	case <-ctx.Done():
		e.mu.Lock()
		if e.groups[group] == w {
			delete(e.groups, group)
		}
		e.mu.Unlock()
		return false, ctx.Err()
	}
}
