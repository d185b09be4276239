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

package v1alpha1

import (
	"context"

	"k8s.io/utils/clock"
)

// clockKey is the context key of the clock Validate reads the date from.
type clockKey struct{}

// WithClock returns a context whose Validate calls read the date from clk: whether a
// schedule fires within 5 years of today depends on today. The reconciler passes its own
// clock; tests pass a fake one.
func WithClock(ctx context.Context, clk clock.PassiveClock) context.Context {
	return context.WithValue(ctx, clockKey{}, clk)
}

// clockFrom returns the clock of ctx, or the real clock.
func clockFrom(ctx context.Context) clock.PassiveClock {
	if clk, ok := ctx.Value(clockKey{}).(clock.PassiveClock); ok {
		return clk
	}
	return clock.RealClock{}
}
