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
	"math/rand/v2"
	"time"

	"gonum.org/v1/gonum/mat"
)

// Optimizer names a training method of Fit.
type Optimizer string

const (
	// OptimizerAuto picks OptimizerLBFGS when the training rows fit LBFGSMaxValues, else OptimizerSGD.
	OptimizerAuto Optimizer = "auto"
	// OptimizerSGD is mini-batch gradient descent over the dataset's blocks: memory holds one block, one batch
	// and the weights, whatever the row count.
	OptimizerSGD Optimizer = "sgd"
	// OptimizerLBFGS is L-BFGS (gonum/optimize) on the full objective: the training rows are held in memory.
	OptimizerLBFGS Optimizer = "lbfgs"
)

// LBFGSMaxValues is the memory budget of OptimizerAuto, in float64 values: L-BFGS holds each training row's
// features and one probability per class, so auto picks it when rows×(features+classes) ≤ LBFGSMaxValues
// (128 MiB), else SGD. (The validation rows, a tenth by default, add their share.)
const LBFGSMaxValues = 16 << 20

// Defaults of FitOptions (and of the train step's flags).
const (
	DefaultOptimizer    = OptimizerAuto
	DefaultEpochs       = 100
	DefaultLearningRate = 0.5
	DefaultBatchSize    = 256
	DefaultL2           = 1e-4
	DefaultSeed         = 42
	// DefaultValidationFraction and DefaultPatience are scikit-learn's validation_fraction and n_iter_no_change.
	DefaultValidationFraction = 0.1
	DefaultPatience           = 5
)

// minImprovement is how much the validation loss must fall below its best so far to count as an improvement.
const minImprovement = 1e-4

// FitOptions are the hyperparameters of Fit. Each field names the train step flag that sets it.
type FitOptions struct {
	// Optimizer (--optimizer) is auto, sgd or lbfgs.
	Optimizer Optimizer
	// Epochs (--epochs) is the number of passes over the training rows (SGD), or the maximum number of L-BFGS
	// iterations.
	Epochs int
	// LearningRate (--learning-rate) is the SGD step size of the first half of the epochs; the second half anneals
	// it along a half cosine towards 0 after epoch Epochs (learningRate). L-BFGS ignores it.
	LearningRate float64
	// BatchSize (--batch-size) is the number of rows per SGD step. L-BFGS ignores it.
	BatchSize int
	// L2 (--l2) is the weight-decay coefficient: the objective adds L2/2·‖W‖² (the bias is not regularised).
	L2 float64
	// Seed (--seed) seeds the shuffles and the choice of validation rows.
	Seed int64
	// ValidationFraction (--validation-fraction) is the share of rows held out for early stopping, in [0, 1).
	// Row i of the dataset (0-based, in file order) is held out when IsValidationRow(Seed, i, ValidationFraction).
	ValidationFraction float64
	// Patience (--patience) is the number of epochs (or L-BFGS iterations) without a validation loss improvement
	// after which training stops; the weights of the best validation epoch are returned.
	Patience int
}

// DefaultFitOptions returns the defaults of the train step.
func DefaultFitOptions() FitOptions {
	return FitOptions{
		Optimizer: DefaultOptimizer, Epochs: DefaultEpochs, LearningRate: DefaultLearningRate,
		BatchSize: DefaultBatchSize, L2: DefaultL2, Seed: DefaultSeed,
		ValidationFraction: DefaultValidationFraction, Patience: DefaultPatience,
	}
}

// Validate checks the options' ranges; errors name the train step flags.
func (o FitOptions) Validate() error {
	var errs []error
	switch o.Optimizer {
	case OptimizerAuto, OptimizerSGD, OptimizerLBFGS:
	default:
		errs = append(errs, fmt.Errorf("--optimizer must be auto, sgd or lbfgs, got %q", o.Optimizer))
	}
	if o.Epochs < 1 {
		errs = append(errs, fmt.Errorf("--epochs must be at least 1, got %d", o.Epochs))
	}
	if !(o.LearningRate > 0) || math.IsInf(o.LearningRate, 0) {
		errs = append(errs, fmt.Errorf("--learning-rate must be a positive number, got %v", o.LearningRate))
	}
	if o.BatchSize < 1 {
		errs = append(errs, fmt.Errorf("--batch-size must be at least 1, got %d", o.BatchSize))
	}
	if o.L2 < 0 || math.IsNaN(o.L2) || math.IsInf(o.L2, 0) {
		errs = append(errs, fmt.Errorf("--l2 must be a non-negative number, got %v", o.L2))
	}
	if !(o.ValidationFraction >= 0 && o.ValidationFraction < 1) {
		errs = append(errs, fmt.Errorf("--validation-fraction must be in [0, 1), got %v", o.ValidationFraction))
	}
	if o.Patience < 1 {
		errs = append(errs, fmt.Errorf("--patience must be at least 1, got %d", o.Patience))
	}
	return errors.Join(errs...)
}

// ChooseOptimizer resolves OptimizerAuto for a dataset of rows×features and classes (LBFGSMaxValues); any other
// optimizer is returned as it is.
func ChooseOptimizer(o Optimizer, rows, features, classes int) Optimizer {
	if o != OptimizerAuto {
		return o
	}
	if int64(rows)*int64(features+classes) <= LBFGSMaxValues {
		return OptimizerLBFGS
	}
	return OptimizerSGD
}

// IsValidationRow reports whether row i (0-based, in file order) is held out for validation: when the top 53 bits
// of splitmix64(splitmix64(seed)+i), read as a fraction of 2⁵³, are below fraction. The choice depends only on
// the seed and the row's position, not on the block layout.
func IsValidationRow(seed int64, i int, fraction float64) bool {
	if fraction <= 0 {
		return false
	}
	h := splitmix64(splitmix64(uint64(seed)) + uint64(i))
	return float64(h>>11)/(1<<53) < fraction
}

// splitmix64 is the output function of the SplitMix64 generator (Steele, Lea, Flood 2014).
func splitmix64(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Fitted is a trained multinomial logistic regression and how it was trained.
type Fitted struct {
	// W holds the weights, classes×features: one row per class, as model.json's weights.
	W *mat.Dense
	// Bias holds one intercept per class.
	Bias []float64
	// Loss is the objective (mean cross-entropy + L2/2·‖W‖²) of W and Bias on the training rows.
	Loss float64
	// ValidationLoss is the mean cross-entropy of W and Bias on the validation rows (0 without validation rows).
	ValidationLoss float64
	// Optimizer is the method that ran: OptimizerSGD or OptimizerLBFGS.
	Optimizer Optimizer
	// Epochs is the number of epochs (SGD) or iterations (L-BFGS) run.
	Epochs int
	// BestEpoch is the epoch whose weights are returned: the one of the lowest validation loss, else the last.
	BestEpoch int
	// StoppedEarly is set when the validation loss stopped improving before Epochs ran out.
	StoppedEarly bool
	// Converged is set when L-BFGS met its convergence test before Epochs ran out.
	Converged bool
	// TrainRows and ValidationRows count the rows trained on and held out.
	TrainRows, ValidationRows int
}

// Progress is what Fit reports after each epoch (SGD) or iteration (L-BFGS).
type Progress struct {
	// Optimizer is the method that runs.
	Optimizer Optimizer
	// Epoch counts from 1 to at most Epochs.
	Epoch, Epochs int
	// Loss is the training objective: for SGD the mean over the epoch's batches (each measured before its step)
	// plus L2/2·‖W‖², for L-BFGS the objective at the iteration's point.
	Loss float64
	// ValidationLoss is the mean cross-entropy on the validation rows, when HasValidation.
	ValidationLoss float64
	// HasValidation is set when rows are held out.
	HasValidation bool
	// Rows is the number of rows the epoch processed (for L-BFGS: training rows × objective evaluations).
	Rows int
	// Elapsed is the epoch's wall time.
	Elapsed time.Duration
}

// RowsPerSecond is the epoch's throughput.
func (p Progress) RowsPerSecond() float64 {
	if p.Elapsed <= 0 {
		return 0
	}
	return float64(p.Rows) / p.Elapsed.Seconds()
}

// String is the progress line the train step logs: "epoch 3/20 loss 0.412345 val-loss 0.420000 rows/s 1234567"
// (for L-BFGS too, where an epoch is an iteration); `mlpipe run` reads its "epoch N/M loss X" head.
func (p Progress) String() string {
	s := fmt.Sprintf("epoch %d/%d loss %.6f", p.Epoch, p.Epochs, p.Loss)
	if p.HasValidation {
		s += fmt.Sprintf(" val-loss %.6f", p.ValidationLoss)
	}
	return s + fmt.Sprintf(" rows/s %.0f", p.RowsPerSecond())
}

// Fit trains a multinomial logistic regression (softmax) on ds by minimising the mean cross-entropy plus
// L2/2·‖W‖² (the bias is not regularised), with the optimizer o names (ChooseOptimizer resolves auto). With
// SGD, rows that IsValidationRow picks are held out (L-BFGS trains on all rows): after each epoch their mean cross-entropy is measured, training stops when
// it has not improved for Patience epochs, and the weights of the best epoch are returned. progress, when not
// nil, is called after every epoch; Fit returns ctx's error when ctx is done.
func Fit(ctx context.Context, ds Dataset, o FitOptions, progress func(Progress)) (*Fitted, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	n, d, k := ds.Len(), ds.Dim(), ds.Classes()
	if n == 0 {
		return nil, errors.New("the training split has no rows")
	}
	if d < 1 || k < 1 {
		return nil, fmt.Errorf("the training split has %d features and %d classes", d, k)
	}
	// L-BFGS minimises the regularised objective to its optimum, so it needs no early stopping: holding rows out
	// would only train it on less data.
	opt := ChooseOptimizer(o.Optimizer, n, d, k)
	if opt == OptimizerLBFGS {
		o.ValidationFraction = 0
	}
	val := 0
	for i := 0; i < n; i++ {
		if IsValidationRow(o.Seed, i, o.ValidationFraction) {
			val++
		}
	}
	if val == n {
		return nil, fmt.Errorf("--validation-fraction %v holds out all %d rows", o.ValidationFraction, n)
	}
	if progress == nil {
		progress = func(Progress) {}
	}
	var (
		f   *Fitted
		err error
	)
	switch opt {
	case OptimizerLBFGS:
		f, err = fitLBFGS(ctx, ds, o, n-val, val, progress)
	default:
		f, err = fitSGD(ctx, ds, o, progress)
	}
	if err != nil {
		return nil, err
	}
	f.TrainRows, f.ValidationRows = n-val, val
	return f, nil
}

// earlyStopping keeps the weights of the epoch with the lowest validation loss and says when to stop.
type earlyStopping struct {
	patience  int
	best      float64
	bestEpoch int
	since     int
	w         *mat.Dense
	b         []float64
}

// newEarlyStopping keeps weights of k classes × d features.
func newEarlyStopping(patience, k, d int) *earlyStopping {
	return &earlyStopping{patience: patience, best: math.Inf(1), w: mat.NewDense(k, d, nil), b: make([]float64, k)}
}

// observe records epoch's validation loss for the weights w, b and reports whether training should stop.
func (e *earlyStopping) observe(epoch int, loss float64, w mat.Matrix, b []float64) bool {
	if loss < e.best-minImprovement || e.bestEpoch == 0 {
		e.best, e.bestEpoch, e.since = loss, epoch, 0
		e.w.Copy(w)
		copy(e.b, b)
		return false
	}
	e.since++
	return e.since >= e.patience
}

// l2Term is L2/2·‖W‖².
func l2Term(l2 float64, w mat.Matrix) float64 {
	fro := mat.Norm(w, 2)
	return l2 / 2 * fro * fro
}

// divergedError is the error of a non-finite training loss.
func divergedError(epoch int, loss float64) error {
	return fmt.Errorf("training diverged at epoch %d (loss %v): lower --learning-rate", epoch, loss)
}

// softmaxCols adds bias[c] to row c of z (classes×rows: one column per data row) and replaces each column with
// its softmax, in place; hi and sum are scratch space of at least one value per column.
func softmaxCols(z *mat.Dense, bias, hi, sum []float64) {
	k, m := z.Dims()
	hi, sum = hi[:m], sum[:m]
	for c := 0; c < k; c++ {
		row := z.RawRowView(c)[:m]
		for j := range row {
			row[j] += bias[c]
			if c == 0 || row[j] > hi[j] {
				hi[j] = row[j]
			}
		}
	}
	clear(sum)
	for c := 0; c < k; c++ {
		row := z.RawRowView(c)[:m]
		for j := range row {
			row[j] = math.Exp(row[j] - hi[j])
			sum[j] += row[j]
		}
	}
	for j := range sum {
		sum[j] = 1 / sum[j]
	}
	for c := 0; c < k; c++ {
		row := z.RawRowView(c)[:m]
		for j := range row {
			row[j] *= sum[j]
		}
	}
}

// negLogProb is −log p, with p floored so that a zero probability gives a large finite loss.
func negLogProb(p float64) float64 {
	return -math.Log(math.Max(p, 1e-300))
}

// newRand returns the generator of Fit's shuffles for seed.
func newRand(seed int64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), 0x747261696e))
}
