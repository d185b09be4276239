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
	"math"
	"time"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// batcher gathers rows into a batch buffer and runs one gradient step whenever it is full: batches run across
// block boundaries, so every step but an epoch's last sees BatchSize rows.
//
// The weights are kept classes×features and the probabilities classes×rows, so that both products of a step are
// long dot products and long axpys (over the features, over the batch) rather than loops over the few classes.
type batcher struct {
	w    *mat.Dense // classes×features
	b    []float64
	l2   float64
	lr   float64
	xb   *mat.Dense // batch rows, BatchSize×features
	yb   []int
	z    *mat.Dense // logits, then probabilities, then P − Y: classes×BatchSize
	grad *mat.Dense // (P − Y)·Xb, classes×features
	hi   []float64  // softmaxCols scratch
	sum  []float64  // softmaxCols scratch
	fill int
	// lossSum and lossRows accumulate the cross-entropy of the rows stepped on, before their step.
	lossSum  float64
	lossRows int
}

func newBatcher(bs, d, k int, l2 float64) *batcher {
	return &batcher{
		w: mat.NewDense(k, d, nil), b: make([]float64, k), l2: l2,
		xb: mat.NewDense(bs, d, nil), yb: make([]int, bs), z: mat.NewDense(k, bs, nil),
		grad: mat.NewDense(k, d, nil), hi: make([]float64, bs), sum: make([]float64, bs),
	}
}

// add copies one row into the batch and steps when the batch is full.
func (s *batcher) add(x []float64, y int) {
	copy(s.xb.RawRowView(s.fill), x)
	s.yb[s.fill] = y
	s.fill++
	if s.fill == len(s.yb) {
		s.step()
	}
}

// probabilities computes softmax(W·Xbᵀ + b) of the first m batch rows into z and returns the views of those rows
// and their columns.
func (s *batcher) probabilities(m int) (xv, zv *mat.Dense) {
	xv, zv = s.xb, s.z
	if m < len(s.yb) {
		_, d := s.xb.Dims()
		k, _ := s.z.Dims()
		xv = s.xb.Slice(0, m, 0, d).(*mat.Dense)
		zv = s.z.Slice(0, k, 0, m).(*mat.Dense)
	}
	zv.Mul(s.w, xv.T())
	softmaxCols(zv, s.b, s.hi, s.sum)
	return xv, zv
}

// step runs one gradient step on the m rows gathered so far: with P = softmax(W·Xbᵀ + b) and Y the one-hot
// labels (both classes×m) and B the batch size, W ← (1 − lr·l2·m/B)·W − lr/B·(P − Y)·Xb and
// b ← b − lr/B·Σⱼ(P − Y). For a full batch (m = B) that is a step of lr along the gradient of the objective on the
// batch.
func (s *batcher) step() {
	m := s.fill
	if m == 0 {
		return
	}
	xv, zv := s.probabilities(m)
	for j, c := range s.yb[:m] {
		p := zv.RawRowView(c)
		s.lossSum += negLogProb(p[j])
		p[j]--
	}
	s.lossRows += m
	s.grad.Mul(zv, xv)
	// A shorter batch (an epoch's last) steps by lr·m/BatchSize, so that every row of an epoch weighs the same.
	share := float64(m) / float64(len(s.yb))
	if s.l2 > 0 {
		s.w.Scale(1-s.lr*share*s.l2, s.w)
	}
	step := s.lr / float64(len(s.yb))
	s.grad.Scale(step, s.grad)
	s.w.Sub(s.w, s.grad)
	for c := range s.b {
		s.b[c] -= step * floats.Sum(zv.RawRowView(c)[:m])
	}
	s.fill = 0
}

// learningRate is the SGD step size of epoch (1-based, of o.Epochs): FitOptions.LearningRate for the first half
// of the epochs, then annealed along a half cosine (Loshchilov and Hutter, SGDR, 2017) towards 0 after the last:
// with t = (epoch−1)/Epochs, lr for t < ½ and lr·(1+cos(π·(2t−1)))/2 after. Measured on 100k synthetic rows
// (5 and 20 epochs, rates 0.1 to 2) it ends 10 to 200 times closer to the optimum than a constant rate; on Iris
// (100 epochs of batches of 32) it keeps the constant rate's accuracy, which a cosine over all epochs loses.
func learningRate(o FitOptions, epoch int) float64 {
	t := float64(epoch-1) / float64(o.Epochs)
	if t < 0.5 {
		return o.LearningRate
	}
	return o.LearningRate * (1 + math.Cos(math.Pi*(2*t-1))) / 2
}

// fitSGD runs mini-batch gradient descent, streaming ds block by block. Epoch 1 reads the blocks in file order
// (it learns each block's first row index, which the validation rows are chosen by); later epochs read them in
// an order shuffled from the seed. Within a block the training rows are shuffled too.
func fitSGD(ctx context.Context, ds Dataset, o FitOptions, progress func(Progress)) (*Fitted, error) {
	d, k, nb := ds.Dim(), ds.Classes(), ds.NumBlocks()
	s := newBatcher(min(o.BatchSize, ds.Len()), d, k, o.L2)
	rng := newRand(o.Seed)
	order := make([]int, nb)
	for i := range order {
		order[i] = i
	}
	offsets := make([]int, nb+1) // offsets[i] is the index of block i's first row
	var rows []int               // the training rows of the current block, shuffled
	hasVal := o.ValidationFraction > 0
	stop := newEarlyStopping(o.Patience, k, d)
	f := &Fitted{Optimizer: OptimizerSGD}
	for epoch := 1; epoch <= o.Epochs; epoch++ {
		start := time.Now()
		if epoch > 1 {
			rng.Shuffle(nb, func(i, j int) { order[i], order[j] = order[j], order[i] })
		}
		s.lr, s.lossSum, s.lossRows = learningRate(o, epoch), 0, 0
		for _, bi := range order {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			blk, err := ds.Block(bi)
			if err != nil {
				return nil, err
			}
			if epoch == 1 {
				offsets[bi+1] = offsets[bi] + len(blk.Y)
			}
			rows = rows[:0]
			for r := range blk.Y {
				if !IsValidationRow(o.Seed, offsets[bi]+r, o.ValidationFraction) {
					rows = append(rows, r)
				}
			}
			rng.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
			for _, r := range rows {
				s.add(blk.X.RawRowView(r), blk.Y[r])
			}
		}
		s.step() // the epoch's last, shorter batch
		p := Progress{Optimizer: OptimizerSGD, Epoch: epoch, Epochs: o.Epochs, Rows: s.lossRows,
			Loss: s.lossSum/float64(s.lossRows) + l2Term(o.L2, s.w)}
		if math.IsNaN(p.Loss) || math.IsInf(p.Loss, 0) {
			return nil, divergedError(epoch, p.Loss)
		}
		f.Epochs, f.BestEpoch = epoch, epoch
		var stopNow bool
		if hasVal {
			vl, vrows, err := crossEntropy(ctx, ds, s, o, true)
			if err != nil {
				return nil, err
			}
			if vrows > 0 {
				p.ValidationLoss, p.HasValidation = vl, true
				stopNow = stop.observe(epoch, vl, s.w, s.b)
			}
		}
		p.Elapsed = time.Since(start)
		progress(p)
		if stopNow {
			f.StoppedEarly = epoch < o.Epochs
			break
		}
	}
	if stop.bestEpoch > 0 {
		s.w.Copy(stop.w)
		copy(s.b, stop.b)
		f.BestEpoch, f.ValidationLoss = stop.bestEpoch, stop.best
	}
	ce, _, err := crossEntropy(ctx, ds, s, o, false)
	if err != nil {
		return nil, err
	}
	f.W, f.Bias, f.Loss = s.w, s.b, ce+l2Term(o.L2, s.w)
	return f, nil
}

// crossEntropy is the mean cross-entropy of s's weights on the validation rows of ds (validation) or on its
// training rows, computed batch by batch with s's buffers (it runs no step), and the number of those rows.
func crossEntropy(ctx context.Context, ds Dataset, s *batcher, o FitOptions, validation bool) (float64, int, error) {
	var sum float64
	var n, offset int
	flush := func(m int) {
		if m == 0 {
			return
		}
		_, zv := s.probabilities(m)
		for j, c := range s.yb[:m] {
			sum += negLogProb(zv.At(c, j))
		}
		n += m
	}
	m := 0
	for bi := 0; bi < ds.NumBlocks(); bi++ {
		if err := ctx.Err(); err != nil {
			return 0, 0, err
		}
		blk, err := ds.Block(bi)
		if err != nil {
			return 0, 0, err
		}
		for r := range blk.Y {
			if IsValidationRow(o.Seed, offset+r, o.ValidationFraction) != validation {
				continue
			}
			copy(s.xb.RawRowView(m), blk.X.RawRowView(r))
			s.yb[m] = blk.Y[r]
			if m++; m == len(s.yb) {
				flush(m)
				m = 0
			}
		}
		offset += len(blk.Y)
	}
	flush(m)
	if n == 0 {
		return 0, 0, nil
	}
	return sum / float64(n), n, nil
}
