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

package ml

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// synthetic draws n rows of d standard normal features and labels sampled from a softmax over k classes with
// random weights (scaled so that about nine rows in ten are classified right, as on the synthetic set).
func synthetic(n, d, k int, seed uint64) (*mat.Dense, []int) {
	rng := rand.New(rand.NewPCG(seed, 1))
	w := make([]float64, d*k)
	for i := range w {
		w[i] = 3 * rng.NormFloat64() / math.Sqrt(float64(d))
	}
	x := mat.NewDense(n, d, nil)
	y := make([]int, n)
	logits := make([]float64, k)
	for i := 0; i < n; i++ {
		row := x.RawRowView(i)
		for j := range row {
			row[j] = rng.NormFloat64()
		}
		var sum float64
		for c := 0; c < k; c++ {
			var z float64
			for j, v := range row {
				z += v * w[j*k+c]
			}
			logits[c] = math.Exp(z)
			sum += logits[c]
		}
		u := rng.Float64() * sum
		for c := 0; c < k; c++ {
			if u -= logits[c]; u <= 0 || c == k-1 {
				y[i] = c
				break
			}
		}
	}
	return x, y
}

// accuracy is the share of rows of x whose most probable class under f is y.
func accuracy(f *Fitted, x *mat.Dense, y []int) float64 {
	n, _ := x.Dims()
	z := mat.NewDense(n, len(f.Bias), nil)
	z.Mul(x, f.W.T())
	correct := 0
	for i := 0; i < n; i++ {
		row := z.RawRowView(i)
		best := 0
		for c := range row {
			if row[c]+f.Bias[c] > row[best]+f.Bias[best] {
				best = c
			}
		}
		if best == y[i] {
			correct++
		}
	}
	return float64(correct) / float64(n)
}

// BenchmarkFitEpoch measures one epoch of each optimizer on 100k and 1M synthetic rows × 25 features × 3 classes
// read from a MemoryDataset in blocks of 65,536 rows, without validation rows; ns/row is per row per epoch (for
// L-BFGS per iteration, its copy of the rows into memory included).
func BenchmarkFitEpoch(b *testing.B) {
	const d, k = 25, 3
	for _, n := range []int{100_000, 1_000_000} {
		x, y := synthetic(n, d, k, 1)
		ds, err := NewMemoryDataset(x, y, k, 65536)
		if err != nil {
			b.Fatal(err)
		}
		for _, opt := range []Optimizer{OptimizerSGD, OptimizerLBFGS} {
			for _, bs := range []int{32, 256, 1024} {
				if opt == OptimizerLBFGS && bs != DefaultBatchSize {
					continue
				}
				name := fmt.Sprintf("rows=%d/%s", n, opt)
				if opt == OptimizerSGD {
					name += fmt.Sprintf("/batch=%d", bs)
				}
				b.Run(name, func(b *testing.B) {
					o := DefaultFitOptions()
					o.Optimizer, o.Epochs, o.BatchSize, o.LearningRate, o.ValidationFraction = opt, 5, bs, 0.1, 0
					var epochs int
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						f, err := Fit(context.Background(), ds, o, nil)
						if err != nil {
							b.Fatal(err)
						}
						epochs += f.Epochs
					}
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(epochs*n), "ns/row")
					b.ReportMetric(0, "ns/op")
				})
			}
		}
	}
}
