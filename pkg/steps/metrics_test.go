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

package steps

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/mlpipe/mlpipe/pkg/ml"
)

// TestScore checks the metrics on a fixed model whose predictions are known: class = the larger of two features.
func TestScore(t *testing.T) {
	m := &ml.Model{
		Classes:  []string{"a", "b"},
		Features: []string{"x", "y"},
		Weights:  [][]float64{{10, 0}, {0, 10}},
		Bias:     []float64{0, 0},
	}
	x := [][]float64{{1, 0}, {1, 0}, {0, 1}, {1, 0}}
	y := []int{0, 0, 1, 1} // the last row is predicted a but is b
	got, err := ml.Score(m, memoryDataset(t, ml.DenseFromRows(x, 2), y, 2))
	if err != nil {
		t.Fatal(err)
	}
	pa, ra := 2.0/3, 1.0
	pb, rb := 1.0, 0.5
	f := func(p, r float64) float64 { return 2 * p * r / (p + r) }
	pr := 1 / (1 + math.Exp(-10)) // probability of the predicted class
	want := &ml.Metrics{
		Accuracy: 0.75, Precision: (pa + pb) / 2, Recall: (ra + rb) / 2, F1: (f(pa, ra) + f(pb, rb)) / 2,
		LogLoss:   (3*-math.Log(pr) - math.Log(1-pr)) / 4,
		Rows:      4,
		Labels:    []string{"a", "b"},
		Confusion: [][]int{{2, 0}, {1, 1}},
		PerClass: []ml.ClassMetrics{
			{Label: "a", Precision: pa, Recall: ra, F1: f(pa, ra), Support: 2},
			{Label: "b", Precision: pb, Recall: rb, F1: f(pb, rb), Support: 2},
		},
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateApprox(0, 1e-9)); diff != "" {
		t.Errorf("Score (-want +got):\n%s", diff)
	}
}
