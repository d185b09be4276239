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
	"context"
	"github.com/mlpipe/mlpipe/pkg/ml"
	"path/filepath"
	"testing"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize"
)

// referenceFit fits the same regularised multinomial logistic regression as Fit (mean cross-entropy +
// l2/2·‖W‖², bias unregularised) by full-batch L-BFGS with gonum/optimize: the "standard logistic regression".
func referenceFit(t *testing.T, x *mat.Dense, y []int, k int, l2 float64) (*mat.Dense, []float64, float64) {
	t.Helper()
	n, d := x.Dims()
	unpack := func(theta []float64) (*mat.Dense, []float64) {
		return mat.NewDense(d, k, theta[:d*k]), theta[d*k:]
	}
	p := optimize.Problem{
		Func: func(theta []float64) float64 {
			w, b := unpack(theta)
			return objective(x, y, w, b, l2)
		},
		Grad: func(grad, theta []float64) {
			w, b := unpack(theta)
			pr := mat.NewDense(n, k, nil)
			pr.Mul(x, w)
			ml.SoftmaxRows(pr, b)
			gb := grad[d*k:]
			clear(gb)
			for i := 0; i < n; i++ {
				row := pr.RawRowView(i)
				row[y[i]]--
				for c := 0; c < k; c++ {
					gb[c] += row[c] / float64(n)
				}
			}
			gw := mat.NewDense(d, k, grad[:d*k])
			gw.Mul(x.T(), pr)
			gw.Scale(1/float64(n), gw)
			var reg mat.Dense
			reg.Scale(l2, w)
			gw.Add(gw, &reg)
		},
	}
	res, err := optimize.Minimize(p, make([]float64, d*k+k), &optimize.Settings{
		GradientThreshold: 1e-8, MajorIterations: 10000,
	}, &optimize.LBFGS{})
	if err != nil {
		t.Fatalf("reference L-BFGS: %v", err)
	}
	w, b := unpack(res.X)
	return mat.DenseCopyOf(w), append([]float64(nil), b...), res.F
}

func accuracyOf(w *mat.Dense, b []float64, x *mat.Dense, y []int) float64 {
	n, _ := x.Dims()
	_, k := w.Dims()
	p := mat.NewDense(n, k, nil)
	p.Mul(x, w)
	ml.SoftmaxRows(p, b)
	correct := 0
	for i := 0; i < n; i++ {
		if ml.Argmax(p.RawRowView(i)) == y[i] {
			correct++
		}
	}
	return float64(correct) / float64(n)
}

// TestIrisAccuracyVsReference trains on the bundled Iris data set (public, 3 classes) and checks that the
// mini-batch gradient descent model reaches at least the test accuracy of the L-BFGS reference on the same split.
func TestIrisAccuracyVsReference(t *testing.T) {
	ctx := context.Background()
	ds := filepath.Join(t.TempDir(), "iris")
	mustRun(t, "preprocess", "--data", repoFile(t, "examples/data/iris.csv"), "--label", "Species", "--out", ds,
		"--test-fraction", "0.2", "--seed", "42")
	s, xTrain, trainY := loadSplit(t, ds, ml.TrainFile)
	_, xTest, testY := loadSplit(t, ds, ml.TestFile)
	const l2 = 1e-4

	refW, refB, refLoss := referenceFit(t, xTrain, trainY, len(s.Classes), l2)
	refAcc := accuracyOf(refW, refB, xTest, testY)

	tests := []struct {
		name string
		h    Hyperparameters
	}{
		{name: "step and pipeline defaults (100 epochs, learning rate 0.5)", h: Hyperparameters{Epochs: DefaultEpochs, LearningRate: DefaultLearningRate, BatchSize: 32, L2: l2, Seed: 42}},
		{name: "20 epochs, learning rate 0.1", h: Hyperparameters{Epochs: 20, LearningRate: 0.1, BatchSize: 32, L2: l2, Seed: 42}},
	}
	for i, tt := range tests {
		w, b, loss, err := Fit(ctx, xTrain, trainY, len(s.Classes), tt.h, nil)
		if err != nil {
			t.Fatal(err)
		}
		acc := accuracyOf(w, b, xTest, testY)
		if i == 0 && acc < refAcc {
			t.Errorf("with the defaults: test accuracy %.4f is below the reference's %.4f", acc, refAcc)
		}
		t.Logf("Iris (%d train / %d test rows), %s: ours (mini-batch GD) test accuracy %.4f, train loss %.4f; "+
			"reference (full-batch L-BFGS) test accuracy %.4f, train loss %.4f",
			len(trainY), len(testY), tt.name, acc, loss, refAcc, refLoss)
	}
}
