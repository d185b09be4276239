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
	"math"
	"path/filepath"
	"testing"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize"

	"github.com/mlpipe/mlpipe/pkg/ml"
)

// referenceFit fits the same regularised multinomial logistic regression as ml.Fit (mean cross-entropy +
// l2/2·‖W‖², bias unregularised) by full-batch L-BFGS with gonum/optimize, written here independently of pkg/ml:
// the "standard logistic regression". It returns W as classes×features, as ml.Fit does.
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
	return mat.DenseCopyOf(w.T()), append([]float64(nil), b...), res.F
}

// objective is the regularised loss the reference minimises: mean cross-entropy + l2/2·‖W‖², W features×classes.
func objective(x *mat.Dense, y []int, w *mat.Dense, b []float64, l2 float64) float64 {
	n, _ := x.Dims()
	_, k := w.Dims()
	p := mat.NewDense(n, k, nil)
	p.Mul(x, w)
	ml.SoftmaxRows(p, b)
	var ce float64
	for i := 0; i < n; i++ {
		ce -= math.Log(math.Max(p.At(i, y[i]), 1e-300))
	}
	fro := mat.Norm(w, 2)
	return ce/float64(n) + l2/2*fro*fro
}

// accuracyOf is the test accuracy of the weights w (classes×features) and biases b.
func accuracyOf(w *mat.Dense, b []float64, x *mat.Dense, y []int) float64 {
	n, _ := x.Dims()
	k, _ := w.Dims()
	p := mat.NewDense(n, k, nil)
	p.Mul(x, w.T())
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

	trainSet, err := ml.NewMemoryDataset(xTrain, trainY, len(s.Classes), ml.BlockRows)
	if err != nil {
		t.Fatal(err)
	}
	with := func(edit func(*ml.FitOptions)) ml.FitOptions {
		o := ml.DefaultFitOptions()
		edit(&o)
		return o
	}
	tests := []struct {
		name     string
		h        ml.FitOptions
		mustPass bool // must reach the reference's test accuracy
	}{
		{name: "step defaults (auto: L-BFGS)", h: ml.DefaultFitOptions(), mustPass: true},
		{name: "pipeline defaults (auto: L-BFGS; 100 epochs, learning rate 0.5, batch 32)", h: with(func(o *ml.FitOptions) { o.BatchSize = 32 }), mustPass: true},
		{name: "sgd, 100 epochs, learning rate 0.5, batch 32", h: with(func(o *ml.FitOptions) { o.Optimizer, o.BatchSize = ml.OptimizerSGD, 32 }), mustPass: true},
		{name: "sgd, 20 epochs, learning rate 0.1, batch 32", h: with(func(o *ml.FitOptions) {
			o.Optimizer, o.Epochs, o.LearningRate, o.BatchSize = ml.OptimizerSGD, 20, 0.1, 32
		})},
		{name: "sgd defaults (batch 256: one step per epoch)", h: with(func(o *ml.FitOptions) { o.Optimizer = ml.OptimizerSGD })},
	}
	for _, tt := range tests {
		f, err := ml.Fit(ctx, trainSet, tt.h, nil)
		if err != nil {
			t.Fatal(err)
		}
		acc := accuracyOf(f.W, f.Bias, xTest, testY)
		if tt.mustPass && acc < refAcc {
			t.Errorf("%s: test accuracy %.4f is below the reference's %.4f", tt.name, acc, refAcc)
		}
		t.Logf("Iris (%d train / %d test rows), %s: ours (%s, %d epochs, %d rows trained on) test accuracy %.4f, train loss %.4f; "+
			"reference (full-batch L-BFGS) test accuracy %.4f, train loss %.4f",
			len(trainY), len(testY), tt.name, f.Optimizer, f.Epochs, f.TrainRows, acc, f.Loss, refAcc, refLoss)
	}
}
