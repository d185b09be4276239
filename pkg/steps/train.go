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
	"encoding/json"
	"errors"
	"fmt"
	"github.com/mlpipe/mlpipe/pkg/ml"
	"io"
	"math"
	"math/rand/v2"

	"github.com/spf13/cobra"
	"gonum.org/v1/gonum/mat"

	"github.com/mlpipe/mlpipe/pkg/store"
)

// TrainOptions are the flags of `step train`.
type TrainOptions struct {
	// Dataset is the URI of a preprocess output directory.
	Dataset string
	// Out is the URI of the directory to write model.json into.
	Out string
	// Hyper are the training hyperparameters.
	Hyper Hyperparameters
	// ResultsDir receives the Tekton results.
	ResultsDir string
}

// Hyperparameters control mini-batch gradient descent.
type Hyperparameters struct {
	// Epochs is the number of passes over the training data.
	Epochs int
	// LearningRate is the gradient step size.
	LearningRate float64
	// BatchSize is the number of rows per gradient step.
	BatchSize int
	// L2 is the weight-decay coefficient.
	L2 float64
	// Seed seeds the per-epoch shuffle.
	Seed int64
}

// Validate checks the hyperparameters' ranges.
func (h Hyperparameters) Validate() error {
	var errs []error
	if h.Epochs < 1 {
		errs = append(errs, fmt.Errorf("--epochs must be at least 1, got %d", h.Epochs))
	}
	if !(h.LearningRate > 0) || math.IsInf(h.LearningRate, 0) {
		errs = append(errs, fmt.Errorf("--learning-rate must be a positive number, got %v", h.LearningRate))
	}
	if h.BatchSize < 1 {
		errs = append(errs, fmt.Errorf("--batch-size must be at least 1, got %d", h.BatchSize))
	}
	if h.L2 < 0 || math.IsNaN(h.L2) || math.IsInf(h.L2, 0) {
		errs = append(errs, fmt.Errorf("--l2 must be a non-negative number, got %v", h.L2))
	}
	return errors.Join(errs...)
}

// Trained is what a train run produced.
type Trained struct {
	// Model is the trained model.
	Model *ml.Model
	// URI is the URI of model.json.
	URI string
	// Digest is the sha256 digest of model.json.
	Digest string
}

// Defaults of the train step (and of the generated pipeline's params): on standardised features they reach
// the accuracy of a full-batch L-BFGS fit on the bundled Iris split (see iris_test.go).
const (
	DefaultEpochs       = 100
	DefaultLearningRate = 0.5
)

func newTrainCommand() *cobra.Command {
	o := &TrainOptions{}
	cmd := &cobra.Command{
		Use:   "train",
		Short: "Train a multinomial logistic regression on a preprocessed dataset",
		Long: "Reads <dataset>/train.arrow and schema.json, trains a multinomial logistic regression by mini-batch\n" +
			"gradient descent (deterministic for a seed) and writes <out>/model.json (weights, preprocessing schema and\n" +
			"class labels). Results: model-uri, model-digest.",
		Args: cobra.NoArgs,
	}
	cmd.Flags().StringVar(&o.Dataset, "dataset", "", "URI of the preprocessed dataset directory")
	cmd.Flags().StringVar(&o.Out, "out", "", "URI of the output directory")
	cmd.Flags().IntVar(&o.Hyper.Epochs, "epochs", DefaultEpochs, "number of passes over the training data")
	cmd.Flags().Float64Var(&o.Hyper.LearningRate, "learning-rate", DefaultLearningRate, "gradient descent step size")
	cmd.Flags().IntVar(&o.Hyper.BatchSize, "batch-size", 32, "rows per mini-batch")
	cmd.Flags().Float64Var(&o.Hyper.L2, "l2", 0.0001, "L2 regularisation coefficient")
	cmd.Flags().Int64Var(&o.Hyper.Seed, "seed", 42, "random seed of the batch shuffle")
	addResultsDirFlag(cmd, &o.ResultsDir)
	cmd.RunE = runE([]string{"dataset", "out"}, func(cmd *cobra.Command) error {
		t, err := Train(cmd.Context(), o, cmd.ErrOrStderr())
		if err != nil {
			return err
		}
		return writeResults(o.ResultsDir, result{"model-uri", t.URI}, result{"model-digest", t.Digest})
	})
	return cmd
}

// Train runs the train step, printing "epoch N/M loss X" lines to log.
func Train(ctx context.Context, o *TrainOptions, log io.Writer) (*Trained, error) {
	if err := o.Hyper.Validate(); err != nil {
		return nil, err
	}
	out, err := store.Open(ctx, o.Out)
	if err != nil {
		return nil, fmt.Errorf("invalid --out: %w", err)
	}
	u := startUsage("train", log)
	s, split, err := ml.OpenSplit(ctx, o.Dataset, ml.TrainFile)
	if err != nil {
		return nil, err
	}
	defer split.Close()
	digest, err := ml.DatasetDigest(ctx, o.Dataset)
	if err != nil {
		return nil, err
	}
	x, y, err := ml.ReadAll(split)
	if err != nil {
		return nil, err
	}
	w, b, loss, err := Fit(ctx, x, y, len(s.Classes), o.Hyper, func(epoch int, loss float64) {
		fmt.Fprintf(log, "epoch %d/%d loss %.6f\n", epoch, o.Hyper.Epochs, loss)
	})
	if err != nil {
		return nil, err
	}
	m := &ml.Model{
		Format:   ml.ModelFormat,
		Schema:   *s,
		Classes:  s.Classes,
		Features: s.Features,
		Bias:     b,
		Training: ml.TrainingInfo{
			DatasetDigest: digest, Rows: len(y),
			Epochs: o.Hyper.Epochs, LearningRate: o.Hyper.LearningRate, BatchSize: o.Hyper.BatchSize,
			L2: o.Hyper.L2, Seed: o.Hyper.Seed, Loss: loss,
		},
	}
	m.Weights = make([][]float64, len(s.Classes))
	for c := range m.Weights {
		m.Weights[c] = mat.Col(nil, c, w)
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("training produced an invalid model (try a smaller --learning-rate): %w", err)
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := out.Put(ctx, "model.json", data); err != nil {
		return nil, err
	}
	t := &Trained{Model: m, URI: out.URI("model.json"), Digest: store.Digest(data)}
	fmt.Fprintf(log, "wrote %s (%s)\n", t.URI, t.Digest)
	u.done(len(y) * o.Hyper.Epochs)
	return t, nil
}

// Fit trains a multinomial logistic regression on x (rows×features) and class indices y in [0,k) by mini-batch
// gradient descent on the mean cross-entropy plus l2/2·‖W‖² (the bias is not regularised). It returns W
// (features×classes), the biases and the final full-data loss, and calls progress after every epoch.
func Fit(ctx context.Context, x *mat.Dense, y []int, k int, h Hyperparameters, progress func(epoch int, loss float64)) (*mat.Dense, []float64, float64, error) {
	if err := h.Validate(); err != nil {
		return nil, nil, 0, err
	}
	n, d := x.Dims()
	if n != len(y) || n == 0 {
		return nil, nil, 0, fmt.Errorf("have %d rows and %d labels", n, len(y))
	}
	w := mat.NewDense(d, k, nil)
	b := make([]float64, k)
	bs := min(h.BatchSize, n)
	xb := mat.NewDense(bs, d, nil)
	pb := mat.NewDense(bs, k, nil)
	grad := mat.NewDense(d, k, nil)
	tmp := mat.NewDense(d, k, nil)
	gb := make([]float64, k)
	perm := make([]int, n)
	for i := range perm {
		perm[i] = i
	}
	rng := rand.New(rand.NewPCG(uint64(h.Seed), 0x747261696e))
	var loss float64
	for epoch := 1; epoch <= h.Epochs; epoch++ {
		if err := ctx.Err(); err != nil {
			return nil, nil, 0, err
		}
		rng.Shuffle(n, func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
		for start := 0; start < n; start += bs {
			m := min(bs, n-start)
			xv, pv := xb, pb
			if m < bs { // the last, shorter batch of an epoch
				xv = xb.Slice(0, m, 0, d).(*mat.Dense)
				pv = pb.Slice(0, m, 0, k).(*mat.Dense)
			}
			for i := 0; i < m; i++ {
				copy(xv.RawRowView(i), x.RawRowView(perm[start+i]))
			}
			// P = softmax(Xb·W + b); P − Y is the gradient of the cross-entropy w.r.t. the logits.
			pv.Mul(xv, w)
			ml.SoftmaxRows(pv, b)
			clear(gb)
			for i := 0; i < m; i++ {
				row := pv.RawRowView(i)
				row[y[perm[start+i]]]--
				for c := 0; c < k; c++ {
					gb[c] += row[c]
				}
			}
			// grad = Xbᵀ(P − Y)/m + l2·W
			grad.Mul(xv.T(), pv)
			grad.Scale(1/float64(m), grad)
			if h.L2 > 0 {
				tmp.Scale(h.L2, w)
				grad.Add(grad, tmp)
			}
			tmp.Scale(h.LearningRate, grad)
			w.Sub(w, tmp)
			for c := 0; c < k; c++ {
				b[c] -= h.LearningRate * gb[c] / float64(m)
			}
		}
		loss = objective(x, y, w, b, h.L2)
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return nil, nil, 0, fmt.Errorf("training diverged at epoch %d (loss %v): lower --learning-rate", epoch, loss)
		}
		if progress != nil {
			progress(epoch, loss)
		}
	}
	return w, b, loss, nil
}

// objective is the regularised loss Fit minimises: mean cross-entropy + l2/2·‖W‖².
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
