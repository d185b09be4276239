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
	"fmt"
	"math"
	"slices"
	"time"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize"
)

// errStopEarly ends an L-BFGS run from its recorder when the validation loss stopped improving.
var errStopEarly = errors.New("validation loss stopped improving")

// lbfgsGradientThreshold stops L-BFGS when no gradient component exceeds it.
const lbfgsGradientThreshold = 1e-6

// objective is the regularised loss of W (classes×features) and b on in-memory rows, with its gradient; it keeps
// the probabilities of the last point it was evaluated at, so that the gradient at that point costs one product.
type objective struct {
	x       *mat.Dense // rows×features
	y       []int
	l2      float64
	d, k    int
	z       *mat.Dense // probabilities (then, in Grad, P − Y), classes×rows
	hi, sum []float64  // softmaxCols scratch
	at      []float64  // the point z was computed at
	ce      float64    // mean cross-entropy at that point
}

func newObjective(x *mat.Dense, y []int, k int, l2 float64) *objective {
	n, d := x.Dims()
	return &objective{x: x, y: y, l2: l2, d: d, k: k, z: mat.NewDense(k, n, nil),
		hi: make([]float64, n), sum: make([]float64, n)}
}

// unpack views theta (W row-major, then b) as W and b.
func (f *objective) unpack(theta []float64) (*mat.Dense, []float64) {
	return mat.NewDense(f.k, f.d, theta[:f.d*f.k]), theta[f.d*f.k:]
}

// eval computes the probabilities and the mean cross-entropy at theta, unless they are those of theta already.
func (f *objective) eval(theta []float64) {
	if len(f.at) > 0 && slices.Equal(f.at, theta) {
		return
	}
	w, b := f.unpack(theta)
	f.z.Mul(w, f.x.T())
	softmaxCols(f.z, b, f.hi, f.sum)
	var ce float64
	for j, c := range f.y {
		ce += negLogProb(f.z.At(c, j))
	}
	f.ce = ce / float64(len(f.y))
	f.at = append(f.at[:0], theta...)
}

// Func is the objective: mean cross-entropy + l2/2·‖W‖².
func (f *objective) Func(theta []float64) float64 {
	f.eval(theta)
	w, _ := f.unpack(theta)
	return f.ce + l2Term(f.l2, w)
}

// Grad is the objective's gradient: (P − Y)·X/n + l2·W for W and Σⱼ(P − Y)/n for b. It turns the probabilities
// into P − Y in place, so the next evaluation computes them again.
func (f *objective) Grad(grad, theta []float64) {
	f.eval(theta)
	f.at = f.at[:0]
	n := float64(len(f.y))
	w, _ := f.unpack(theta)
	gw, gb := f.unpack(grad)
	for j, c := range f.y {
		f.z.Set(c, j, f.z.At(c, j)-1)
	}
	for c := range gb {
		gb[c] = floats.Sum(f.z.RawRowView(c)) / n
	}
	gw.Mul(f.z, f.x)
	gw.Scale(1/n, gw)
	if f.l2 > 0 {
		gw.Apply(func(i, j int, v float64) float64 { return v + f.l2*w.At(i, j) }, gw)
	}
}

// loadRows copies the rows of ds that IsValidationRow assigns to validation (or not) into memory.
func loadRows(ctx context.Context, ds Dataset, o FitOptions, rows int, validation bool) (*mat.Dense, []int, error) {
	if rows == 0 {
		return nil, nil, nil
	}
	x := mat.NewDense(rows, ds.Dim(), nil)
	y := make([]int, 0, rows)
	offset := 0
	for bi := 0; bi < ds.NumBlocks(); bi++ {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		blk, err := ds.Block(bi)
		if err != nil {
			return nil, nil, err
		}
		for r := range blk.Y {
			if IsValidationRow(o.Seed, offset+r, o.ValidationFraction) == validation {
				copy(x.RawRowView(len(y)), blk.X.RawRowView(r))
				y = append(y, blk.Y[r])
			}
		}
		offset += len(blk.Y)
	}
	if len(y) != rows {
		return nil, nil, fmt.Errorf("the dataset holds %d rows, not the %d it reports", offset, ds.Len())
	}
	return x, y, nil
}

// lbfgsRecorder reports every L-BFGS iteration, measures the validation loss and stops the run when it stopped
// improving.
type lbfgsRecorder struct {
	train, val *objective // val is nil without validation rows
	o          FitOptions
	stop       *earlyStopping
	progress   func(Progress)
	iteration  int
	evals      int
	last       time.Time
	stopped    bool
}

// Init implements optimize.Recorder.
func (r *lbfgsRecorder) Init() error {
	r.last = time.Now()
	return nil
}

// Record implements optimize.Recorder.
func (r *lbfgsRecorder) Record(loc *optimize.Location, op optimize.Operation, stats *optimize.Stats) error {
	if op != optimize.MajorIteration {
		return nil
	}
	r.iteration++
	p := Progress{Optimizer: OptimizerLBFGS, Epoch: r.iteration, Epochs: r.o.Epochs, Loss: loc.F,
		Rows: len(r.train.y) * (stats.FuncEvaluations - r.evals), Elapsed: time.Since(r.last)}
	r.evals = stats.FuncEvaluations
	var stop bool
	if r.val != nil {
		r.val.eval(loc.X)
		p.ValidationLoss, p.HasValidation = r.val.ce, true
		w, b := r.val.unpack(loc.X)
		stop = r.stop.observe(r.iteration, r.val.ce, w, b)
	}
	r.progress(p)
	r.last = time.Now()
	if stop {
		r.stopped = true
		return errStopEarly
	}
	return nil
}

// fitLBFGS loads the training (and validation) rows into memory and minimises the objective with gonum's L-BFGS,
// for at most Epochs iterations.
func fitLBFGS(ctx context.Context, ds Dataset, o FitOptions, trainRows, valRows int, progress func(Progress)) (*Fitted, error) {
	d, k := ds.Dim(), ds.Classes()
	x, y, err := loadRows(ctx, ds, o, trainRows, false)
	if err != nil {
		return nil, err
	}
	train := newObjective(x, y, k, o.L2)
	rec := &lbfgsRecorder{train: train, o: o, stop: newEarlyStopping(o.Patience, k, d), progress: progress}
	if valRows > 0 {
		xv, yv, err := loadRows(ctx, ds, o, valRows, true)
		if err != nil {
			return nil, err
		}
		rec.val = newObjective(xv, yv, k, 0)
	}
	problem := optimize.Problem{
		Func: train.Func,
		Grad: train.Grad,
		Status: func() (optimize.Status, error) {
			return optimize.NotTerminated, ctx.Err()
		},
	}
	res, err := optimize.Minimize(problem, make([]float64, d*k+k), &optimize.Settings{
		GradientThreshold: lbfgsGradientThreshold, MajorIterations: o.Epochs, Recorder: rec,
	}, &optimize.LBFGS{})
	if ctxErr := ctx.Err(); ctxErr != nil {
		return nil, ctxErr
	}
	if err != nil && !errors.Is(err, errStopEarly) {
		return nil, fmt.Errorf("l-bfgs: %w", err)
	}
	if err == nil && rec.iteration < res.Stats.MajorIterations {
		// gonum does not pass the iteration that ends the run (by convergence or the iteration limit) to the
		// recorder: report it, and let early stopping weigh it, here. The run is over, so it does not stop early.
		_ = rec.Record(&res.Location, optimize.MajorIteration, &res.Stats)
		rec.stopped = false
	}
	f := &Fitted{Optimizer: OptimizerLBFGS, Epochs: rec.iteration, BestEpoch: rec.iteration, StoppedEarly: rec.stopped,
		Converged: err == nil && res.Status != optimize.IterationLimit}
	theta := res.X
	if rec.stop.bestEpoch > 0 {
		theta = packTheta(rec.stop.w, rec.stop.b)
		f.BestEpoch, f.ValidationLoss = rec.stop.bestEpoch, rec.stop.best
	}
	loss := train.Func(theta)
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return nil, divergedError(f.Epochs, loss)
	}
	w, b := train.unpack(theta)
	f.W, f.Bias, f.Loss = mat.DenseCopyOf(w), slices.Clone(b), loss
	return f, nil
}

// packTheta lays W (classes×features, row-major) and b out as one parameter vector.
func packTheta(w *mat.Dense, b []float64) []float64 {
	d, k := w.Dims()
	theta := make([]float64, 0, d*k+len(b))
	for i := 0; i < d; i++ {
		theta = append(theta, w.RawRowView(i)...)
	}
	return append(theta, b...)
}
