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
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gonum.org/v1/gonum/mat"
)

// twoPoints is a one-feature, two-class problem whose optimum is known in closed form: four rows at x=+1 (three of
// class 0), four at x=−1 (one of class 0). By symmetry W = [a, −a] and b = 0 at the optimum, where
// P(class 0 | x=+1) = σ(2a); without L2 that is the empirical 3/4, with L2 = λ it solves σ(2a) = 3/4 − λ·a.
func twoPoints(t *testing.T, blockRows int) Dataset {
	t.Helper()
	x := mat.NewDense(8, 1, []float64{1, 1, 1, 1, -1, -1, -1, -1})
	ds, err := NewMemoryDataset(x, []int{0, 0, 0, 1, 1, 1, 1, 0}, 2, blockRows)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// TestFitKnownOptimum checks both optimizers against the closed-form optimum of twoPoints (values solved with
// scipy's brentq, not by this package).
func TestFitKnownOptimum(t *testing.T) {
	tests := []struct {
		name     string
		opt      Optimizer
		l2       float64
		epochs   int
		batch    int
		lr       float64
		wantP    float64 // P(class 0 | x=+1)
		wantA    float64 // W[0][0] = −W[1][0]
		wantLoss float64
		tol      float64
	}{
		{name: "lbfgs, no L2", opt: OptimizerLBFGS, l2: 0, epochs: 100, batch: 3, wantP: 0.75, wantA: 0.5493061443340549, wantLoss: 0.5623351446188083, tol: 1e-5},
		{name: "lbfgs, l2 0.1", opt: OptimizerLBFGS, l2: 0.1, epochs: 100, batch: 3, wantP: 0.7061597405569414, wantA: 0.4384025944305855, wantLoss: 0.5863347863656891, tol: 1e-5},
		{name: "sgd full batch, l2 0.1", opt: OptimizerSGD, l2: 0.1, epochs: 500, batch: 8, lr: 1, wantP: 0.7061597405569414, wantA: 0.4384025944305855, wantLoss: 0.5863347863656891, tol: 1e-5},
		{name: "sgd batches of 3 across blocks of 3, l2 0.1", opt: OptimizerSGD, l2: 0.1, epochs: 2000, batch: 3, lr: 0.2, wantP: 0.7061597405569414, wantA: 0.4384025944305855, wantLoss: 0.5863347863656891, tol: 2e-3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := DefaultFitOptions()
			o.Optimizer, o.L2, o.Epochs, o.BatchSize, o.ValidationFraction = tt.opt, tt.l2, tt.epochs, tt.batch, 0
			if tt.lr > 0 {
				o.LearningRate = tt.lr
			}
			f, err := Fit(context.Background(), twoPoints(t, 3), o, nil)
			if err != nil {
				t.Fatal(err)
			}
			if f.Optimizer != tt.opt || f.TrainRows != 8 || f.ValidationRows != 0 {
				t.Errorf("got %s on %d rows (%d held out), want %s on all 8", f.Optimizer, f.TrainRows, f.ValidationRows, tt.opt)
			}
			if tt.opt == OptimizerLBFGS && !f.Converged {
				t.Errorf("L-BFGS did not converge in %d iterations", f.Epochs)
			}
			z0, z1 := f.W.At(0, 0)+f.Bias[0], f.W.At(1, 0)+f.Bias[1]
			p := 1 / (1 + math.Exp(z1-z0))
			checks := []struct {
				what      string
				got, want float64
			}{
				{"P(class 0 | x=+1)", p, tt.wantP},
				{"W[0][0]", f.W.At(0, 0), tt.wantA},
				{"W[1][0]", f.W.At(1, 0), -tt.wantA},
				{"b0 − b1", f.Bias[0] - f.Bias[1], 0},
				{"loss", f.Loss, tt.wantLoss},
			}
			for _, c := range checks {
				if math.Abs(c.got-c.want) > tt.tol {
					t.Errorf("%s: got %.7f, want %.7f (±%g)", c.what, c.got, c.want, tt.tol)
				}
			}
		})
	}
}

// TestObjectiveGradient compares the L-BFGS objective's analytic gradient with central finite differences of the
// cross-entropy written out directly (not through the package's softmax) at a random point.
func TestObjectiveGradient(t *testing.T) {
	const n, d, k, l2 = 40, 4, 3, 0.3
	x, y := synthetic(n, d, k, 7)
	theta := []float64{0.3, -0.2, 0.5, 0.1, -0.4, 0.2, 0.0, 0.7, 0.25, -0.6, 0.15, -0.05, 0.2, -0.1, 0.05}
	// direct is mean −log softmax(W·x + b)[y] + l2/2·‖W‖², W classes×features row-major in theta.
	direct := func(th []float64) float64 {
		var loss float64
		for i := 0; i < n; i++ {
			z := make([]float64, k)
			var norm float64
			for c := 0; c < k; c++ {
				z[c] = th[d*k+c]
				for j := 0; j < d; j++ {
					z[c] += th[c*d+j] * x.At(i, j)
				}
				norm += math.Exp(z[c])
			}
			loss += math.Log(norm) - z[y[i]]
		}
		var sq float64
		for _, w := range th[:d*k] {
			sq += w * w
		}
		return loss/n + l2/2*sq
	}
	f := newObjective(x, y, k, l2)
	if got, want := f.Func(theta), direct(theta); math.Abs(got-want) > 1e-12 {
		t.Errorf("objective: got %.15f, want %.15f", got, want)
	}
	grad := make([]float64, len(theta))
	f.Grad(grad, theta)
	const h = 1e-6
	for i := range theta {
		plus, minus := append([]float64(nil), theta...), append([]float64(nil), theta...)
		plus[i] += h
		minus[i] -= h
		want := (direct(plus) - direct(minus)) / (2 * h)
		if math.Abs(grad[i]-want) > 1e-7 {
			t.Errorf("d/dθ[%d]: got %.9f, finite difference %.9f", i, grad[i], want)
		}
	}
}

func TestFitOptionsValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*FitOptions)
		want []string
	}{
		{name: "unknown optimizer", edit: func(o *FitOptions) { o.Optimizer = "adam" }, want: []string{`--optimizer must be auto, sgd or lbfgs, got "adam"`}},
		{name: "zero epochs", edit: func(o *FitOptions) { o.Epochs = 0 }, want: []string{"--epochs must be at least 1, got 0"}},
		{name: "NaN learning rate", edit: func(o *FitOptions) { o.LearningRate = math.NaN() }, want: []string{"--learning-rate must be a positive number, got NaN"}},
		{name: "zero batch", edit: func(o *FitOptions) { o.BatchSize = 0 }, want: []string{"--batch-size must be at least 1, got 0"}},
		{name: "negative l2", edit: func(o *FitOptions) { o.L2 = -1 }, want: []string{"--l2 must be a non-negative number, got -1"}},
		{name: "validation fraction 1", edit: func(o *FitOptions) { o.ValidationFraction = 1 }, want: []string{"--validation-fraction must be in [0, 1), got 1"}},
		{name: "zero patience", edit: func(o *FitOptions) { o.Patience = 0 }, want: []string{"--patience must be at least 1, got 0"}},
		{name: "all problems at once", edit: func(o *FitOptions) { o.Epochs, o.BatchSize = -1, -2 }, want: []string{
			"--epochs must be at least 1, got -1", "--batch-size must be at least 1, got -2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := DefaultFitOptions()
			tt.edit(&o)
			err := o.Validate()
			if err == nil {
				t.Fatal("want an error")
			}
			if diff := cmp.Diff(strings.Join(tt.want, "\n"), err.Error()); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
	if err := DefaultFitOptions().Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
}

func TestChooseOptimizer(t *testing.T) {
	tests := []struct {
		name                    string
		o                       Optimizer
		rows, features, classes int
		want                    Optimizer
	}{
		{name: "Iris", o: OptimizerAuto, rows: 120, features: 4, classes: 3, want: OptimizerLBFGS},
		{name: "exactly the budget", o: OptimizerAuto, rows: 1 << 19, features: 29, classes: 3, want: OptimizerLBFGS},
		{name: "one row over", o: OptimizerAuto, rows: 1<<19 + 1, features: 29, classes: 3, want: OptimizerSGD},
		{name: "1M rows × 25 features", o: OptimizerAuto, rows: 1_000_000, features: 25, classes: 3, want: OptimizerSGD},
		{name: "forced lbfgs", o: OptimizerLBFGS, rows: 1_000_000, features: 25, classes: 3, want: OptimizerLBFGS},
		{name: "forced sgd", o: OptimizerSGD, rows: 10, features: 2, classes: 2, want: OptimizerSGD},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ChooseOptimizer(tt.o, tt.rows, tt.features, tt.classes); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

// countingDataset counts Block calls.
type countingDataset struct {
	Dataset
	calls int
}

func (c *countingDataset) Block(i int) (Batch, error) {
	c.calls++
	return c.Dataset.Block(i)
}

// TestFitSGDStreamsBlocks checks that SGD reads every block once per epoch (plus one pass for the final loss and,
// with validation rows, one per epoch for the validation loss) and that it reports every epoch.
func TestFitSGDStreamsBlocks(t *testing.T) {
	x, y := synthetic(1000, 3, 2, 3)
	mem, err := NewMemoryDataset(x, y, 2, 128) // 8 blocks
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name      string
		valFrac   float64
		wantCalls int
	}{
		{name: "no validation", wantCalls: 8*4 + 8},
		{name: "validation", valFrac: 0.2, wantCalls: 8*4 + 8*4 + 8},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ds := &countingDataset{Dataset: mem}
			o := DefaultFitOptions()
			o.Optimizer, o.Epochs, o.ValidationFraction, o.Patience, o.LearningRate = OptimizerSGD, 4, tt.valFrac, 100, 0.1
			var epochs []int
			f, err := Fit(context.Background(), ds, o, func(p Progress) {
				epochs = append(epochs, p.Epoch)
				if p.HasValidation != (tt.valFrac > 0) {
					t.Errorf("epoch %d: HasValidation %v", p.Epoch, p.HasValidation)
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			if ds.calls != tt.wantCalls {
				t.Errorf("Block calls: got %d, want %d", ds.calls, tt.wantCalls)
			}
			if diff := cmp.Diff([]int{1, 2, 3, 4}, epochs); diff != "" {
				t.Errorf("reported epochs (-want +got):\n%s", diff)
			}
			if f.TrainRows+f.ValidationRows != 1000 || (tt.valFrac > 0) != (f.ValidationRows > 0) {
				t.Errorf("rows: %d trained, %d held out", f.TrainRows, f.ValidationRows)
			}
		})
	}
}

// TestFitEarlyStopping trains on labels that carry no signal with a large learning rate, so that the validation
// loss is lowest near the start and then rises: training must stop Patience epochs after its best epoch and return
// that epoch's weights.
func TestFitEarlyStopping(t *testing.T) {
	x, _ := synthetic(2000, 10, 2, 5)
	y := make([]int, 2000)
	for i := range y {
		y[i] = int(splitmix64(uint64(i)) & 1)
	}
	t.Run("lbfgs trains on all rows", func(t *testing.T) {
		ds, err := NewMemoryDataset(x, y, 2, 300)
		if err != nil {
			t.Fatal(err)
		}
		o := DefaultFitOptions()
		o.Optimizer, o.ValidationFraction = OptimizerLBFGS, 0.3
		f, err := Fit(context.Background(), ds, o, nil)
		if err != nil {
			t.Fatal(err)
		}
		if f.ValidationRows != 0 || f.TrainRows != 2000 || f.StoppedEarly {
			t.Errorf("lbfgs held out %d rows, trained on %d, stopped early %v; want 0, 2000, false", f.ValidationRows, f.TrainRows, f.StoppedEarly)
		}
	})
	for _, opt := range []Optimizer{OptimizerSGD} {
		t.Run(string(opt), func(t *testing.T) {
			ds, err := NewMemoryDataset(x, y, 2, 300)
			if err != nil {
				t.Fatal(err)
			}
			o := DefaultFitOptions()
			o.Optimizer, o.Epochs, o.LearningRate, o.BatchSize, o.L2 = opt, 200, 2, 8, 0
			o.ValidationFraction, o.Patience = 0.3, 3
			var val []float64
			f, err := Fit(context.Background(), ds, o, func(p Progress) { val = append(val, p.ValidationLoss) })
			if err != nil {
				t.Fatal(err)
			}
			if !f.StoppedEarly || f.Epochs >= o.Epochs {
				t.Fatalf("ran %d of %d epochs, stopped early %v; validation losses %v", f.Epochs, o.Epochs, f.StoppedEarly, val)
			}
			if f.BestEpoch != f.Epochs-o.Patience {
				t.Errorf("best epoch %d, want %d (epochs run %d − patience %d)", f.BestEpoch, f.Epochs-o.Patience, f.Epochs, o.Patience)
			}
			if got := val[f.BestEpoch-1]; got != f.ValidationLoss {
				t.Errorf("validation loss: returned %v, epoch %d reported %v", f.ValidationLoss, f.BestEpoch, got)
			}
			// The returned weights are the best epoch's: their validation loss, measured here, is the reported one.
			var sum float64
			var rows int
			for i := range y {
				if !IsValidationRow(o.Seed, i, o.ValidationFraction) {
					continue
				}
				z0 := mat.Dot(f.W.RowView(0), x.RowView(i)) + f.Bias[0]
				z1 := mat.Dot(f.W.RowView(1), x.RowView(i)) + f.Bias[1]
				zy := []float64{z0, z1}[y[i]]
				sum += math.Log(math.Exp(z0)+math.Exp(z1)) - zy
				rows++
			}
			if rows != f.ValidationRows {
				t.Errorf("validation rows: counted %d, Fit held out %d", rows, f.ValidationRows)
			}
			if got := sum / float64(rows); math.Abs(got-f.ValidationLoss) > 1e-9 {
				t.Errorf("validation loss of the returned weights: %v, reported %v", got, f.ValidationLoss)
			}
		})
	}
}

// TestIsValidationRow checks the documented rule's properties: deterministic, close to the fraction, different
// for another seed.
func TestIsValidationRow(t *testing.T) {
	const n = 100_000
	var held, same int
	for i := 0; i < n; i++ {
		a := IsValidationRow(42, i, 0.1)
		if a != IsValidationRow(42, i, 0.1) {
			t.Fatalf("row %d: not deterministic", i)
		}
		if a {
			held++
		}
		if a && IsValidationRow(43, i, 0.1) {
			same++
		}
		if IsValidationRow(42, i, 0) {
			t.Fatalf("row %d held out at fraction 0", i)
		}
	}
	// Binomial(100000, 0.1): mean 10000, standard deviation about 95.
	if held < 9600 || held > 10400 {
		t.Errorf("held out %d of %d rows at fraction 0.1", held, n)
	}
	// Independent choices for two seeds overlap on about 1% of the rows.
	if same < 800 || same > 1200 {
		t.Errorf("seeds 42 and 43 share %d held-out rows", same)
	}
}

func TestFitDeterministic(t *testing.T) {
	x, y := synthetic(3000, 5, 3, 9)
	ds, err := NewMemoryDataset(x, y, 3, 500)
	if err != nil {
		t.Fatal(err)
	}
	o := DefaultFitOptions()
	o.Optimizer, o.Epochs, o.ValidationFraction = OptimizerSGD, 3, 0.1
	a, err := Fit(context.Background(), ds, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Fit(context.Background(), ds, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !mat.Equal(a.W, b.W) {
		t.Error("two runs with one seed gave different weights")
	}
	o.Seed++
	c, err := Fit(context.Background(), ds, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	if mat.Equal(a.W, c.W) {
		t.Error("another seed gave the same weights")
	}
}

func TestFitCancel(t *testing.T) {
	x, y := synthetic(2000, 5, 3, 9)
	ds, err := NewMemoryDataset(x, y, 3, 500)
	if err != nil {
		t.Fatal(err)
	}
	for _, opt := range []Optimizer{OptimizerSGD, OptimizerLBFGS} {
		t.Run(string(opt), func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			o := DefaultFitOptions()
			o.Optimizer, o.Epochs, o.L2 = opt, 50, 0
			var epochs int
			_, err := Fit(ctx, ds, o, func(p Progress) {
				epochs++
				if p.Epoch == 2 {
					cancel()
				}
			})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("got %v, want context.Canceled", err)
			}
			if epochs != 2 {
				t.Errorf("reported %d epochs after cancelling in the second", epochs)
			}
		})
	}
}

func TestFitErrors(t *testing.T) {
	x, y := synthetic(10, 2, 2, 1)
	ds, err := NewMemoryDataset(x, y, 2, 4)
	if err != nil {
		t.Fatal(err)
	}
	o := DefaultFitOptions()
	o.Epochs = 0
	if _, err := Fit(context.Background(), ds, o, nil); err == nil || !strings.Contains(err.Error(), "--epochs") {
		t.Errorf("invalid options: got %v", err)
	}
	o = DefaultFitOptions()
	o.Optimizer, o.LearningRate = OptimizerSGD, 1e308
	if _, err := Fit(context.Background(), ds, o, nil); err == nil || !strings.Contains(err.Error(), "training diverged at epoch 1") {
		t.Errorf("diverging: got %v", err)
	}
	o = DefaultFitOptions()
	o.Optimizer, o.ValidationFraction = OptimizerSGD, 0.999999
	if _, err := Fit(context.Background(), ds, o, nil); err == nil || err.Error() != "--validation-fraction 0.999999 holds out all 10 rows" {
		t.Errorf("all rows held out: got %v", err)
	}
}

func TestMemoryDataset(t *testing.T) {
	x := mat.NewDense(5, 2, []float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	ds, err := NewMemoryDataset(x, []int{0, 1, 2, 0, 1}, 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	if ds.Len() != 5 || ds.Dim() != 2 || ds.Classes() != 3 || ds.NumBlocks() != 3 {
		t.Fatalf("Len %d Dim %d Classes %d NumBlocks %d", ds.Len(), ds.Dim(), ds.Classes(), ds.NumBlocks())
	}
	last, err := ds.Block(2)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]float64{8, 9}, last.X.RawRowView(0)); diff != "" || len(last.Y) != 1 || last.Y[0] != 1 {
		t.Errorf("last block: X %v Y %v", mat.Formatted(last.X), last.Y)
	}
	if _, err := ds.Block(3); err == nil || err.Error() != "block 3 is outside [0, 3)" {
		t.Errorf("block 3: got %v", err)
	}
	for _, tt := range []struct {
		name    string
		y       []int
		classes int
		rows    int
		want    string
	}{
		{name: "label count", y: []int{0}, classes: 2, rows: 1, want: "have 5 rows and 1 labels"},
		{name: "label range", y: []int{0, 1, 2, 0, 1}, classes: 2, rows: 1, want: "row 2: class index 2 is outside [0, 2)"},
		{name: "block size", y: []int{0, 1, 1, 0, 1}, classes: 2, rows: 0, want: "block size must be at least 1 row, got 0"},
	} {
		if _, err := NewMemoryDataset(x, tt.y, tt.classes, tt.rows); err == nil || err.Error() != tt.want {
			t.Errorf("%s: got %v, want %q", tt.name, err, tt.want)
		}
	}
}

// TestFitLBFGSIterationLimit: L-BFGS that runs out of --epochs returns its last point, not an error.
func TestFitLBFGSIterationLimit(t *testing.T) {
	x, y := synthetic(500, 4, 3, 2)
	ds, err := NewMemoryDataset(x, y, 3, 100)
	if err != nil {
		t.Fatal(err)
	}
	o := DefaultFitOptions()
	o.Optimizer, o.Epochs, o.ValidationFraction = OptimizerLBFGS, 3, 0
	var reported int
	f, err := Fit(context.Background(), ds, o, func(Progress) { reported++ })
	if err != nil {
		t.Fatal(err)
	}
	if f.Epochs != 3 || reported != 3 || f.Converged || f.StoppedEarly {
		t.Errorf("ran %d iterations (%d reported), converged %v, stopped early %v; want 3, 3, false, false",
			f.Epochs, reported, f.Converged, f.StoppedEarly)
	}
}
