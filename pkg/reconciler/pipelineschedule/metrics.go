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

package pipelineschedule

import (
	"context"
	"time"

	"github.com/mlpipe/mlpipe/pkg/apis/mlpipe/v1alpha1"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Metrics are the schedule controller's instruments, exported by knative's observability
// setup (Prometheus by default, see config-observability).
type Metrics struct {
	skew   metric.Float64Histogram
	runs   metric.Int64Counter
	misses metric.Int64Counter
	skips  metric.Int64Counter
}

// NewMetrics creates the instruments on the given provider (nil: the global one).
func NewMetrics(mp metric.MeterProvider) (*Metrics, error) {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	m := mp.Meter("github.com/mlpipe/mlpipe/pkg/reconciler/pipelineschedule")
	var err error
	out := &Metrics{}
	if out.skew, err = m.Float64Histogram("mlpipe.schedule.creation_skew",
		metric.WithDescription("Seconds between a slot and the creation of its PipelineRun (actual - scheduled)"),
		metric.WithUnit("s"),
		metric.WithExplicitBucketBoundaries(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300)); err != nil {
		return nil, err
	}
	if out.runs, err = m.Int64Counter("mlpipe.schedule.runs_created", metric.WithDescription("PipelineRuns created for schedule slots")); err != nil {
		return nil, err
	}
	if out.misses, err = m.Int64Counter("mlpipe.schedule.missed_slots", metric.WithDescription("Slots that were not started (controller down, or past startingDeadlineSeconds)")); err != nil {
		return nil, err
	}
	if out.skips, err = m.Int64Counter("mlpipe.schedule.skipped_by_policy", metric.WithDescription("Slots skipped by concurrencyPolicy Forbid")); err != nil {
		return nil, err
	}
	return out, nil
}

func attrs(s *v1alpha1.PipelineSchedule) metric.MeasurementOption {
	return metric.WithAttributes(attribute.String("namespace", s.Namespace))
}

func (m *Metrics) created(ctx context.Context, s *v1alpha1.PipelineSchedule, skew time.Duration) {
	if m == nil {
		return
	}
	m.runs.Add(ctx, 1, attrs(s))
	m.skew.Record(ctx, skew.Seconds(), attrs(s))
}

func (m *Metrics) missed(ctx context.Context, s *v1alpha1.PipelineSchedule, n int64) {
	if m != nil {
		m.misses.Add(ctx, n, attrs(s))
	}
}

func (m *Metrics) skipped(ctx context.Context, s *v1alpha1.PipelineSchedule) {
	if m != nil {
		m.skips.Add(ctx, 1, attrs(s))
	}
}
