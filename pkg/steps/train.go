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
	"io"
	"time"

	"github.com/spf13/cobra"
	"gonum.org/v1/gonum/mat"

	"github.com/mlpipe/mlpipe/pkg/ml"
	"github.com/mlpipe/mlpipe/pkg/store"
)

// TrainOptions are the flags of `step train`.
type TrainOptions struct {
	// Dataset is the URI of a preprocess output directory.
	Dataset string
	// Out is the URI of the directory to write model.json into.
	Out string
	// Hyper are the training hyperparameters.
	Hyper ml.FitOptions
	// ResultsDir receives the Tekton results.
	ResultsDir string
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

func newTrainCommand() *cobra.Command {
	o := &TrainOptions{}
	cmd := &cobra.Command{
		Use:   "train",
		Short: "Train a multinomial logistic regression on a preprocessed dataset",
		Long: "Reads <dataset>/train.arrow and schema.json, trains a multinomial logistic regression (mini-batch\n" +
			"gradient descent or L-BFGS, deterministic for a seed) and writes <out>/model.json (weights, preprocessing\n" +
			"schema and class labels). Results: model-uri, model-digest.",
		Args: cobra.NoArgs,
	}
	h := &o.Hyper
	cmd.Flags().StringVar(&o.Dataset, "dataset", "", "URI of the preprocessed dataset directory")
	cmd.Flags().StringVar(&o.Out, "out", "", "URI of the output directory")
	cmd.Flags().StringVar((*string)(&h.Optimizer), "optimizer", string(ml.DefaultOptimizer), fmt.Sprintf(
		"auto, sgd (mini-batch gradient descent, streams the rows) or lbfgs (L-BFGS, holds the rows in memory); "+
			"auto picks lbfgs when training rows × (features + classes) ≤ %d, else sgd", ml.LBFGSMaxValues))
	cmd.Flags().IntVar(&h.Epochs, "epochs", ml.DefaultEpochs, "passes over the training rows (sgd), at most this many iterations (lbfgs)")
	cmd.Flags().Float64Var(&h.LearningRate, "learning-rate", ml.DefaultLearningRate,
		"sgd step size of the first half of the epochs; the second half anneals it along a half cosine towards 0")
	cmd.Flags().IntVar(&h.BatchSize, "batch-size", ml.DefaultBatchSize, "rows per sgd step")
	cmd.Flags().Float64Var(&h.L2, "l2", ml.DefaultL2, "L2 regularisation coefficient: the loss adds l2/2·‖W‖²")
	cmd.Flags().Int64Var(&h.Seed, "seed", ml.DefaultSeed, "random seed of the shuffles and of the validation rows")
	cmd.Flags().Float64Var(&h.ValidationFraction, "validation-fraction", ml.DefaultValidationFraction,
		"share of the training rows held out for early stopping of sgd (lbfgs trains on all rows), in [0, 1): row i is held out when "+
			"splitmix64(splitmix64(seed)+i)/2⁶⁴ < fraction (0: none, train on all rows)")
	cmd.Flags().IntVar(&h.Patience, "patience", ml.DefaultPatience,
		"with --validation-fraction: stop after this many epochs without a validation loss improvement, keeping the best epoch's weights")
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

// Train runs the train step, printing a progress line per epoch ("epoch N/M loss X ...": ml.Progress) and a
// summary line to log.
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
	digest, err := ml.DatasetDigest(ctx, o.Dataset, split)
	if err != nil {
		return nil, err
	}
	f, err := fit(ctx, split, o.Hyper, log)
	if err != nil {
		return nil, err
	}
	m := &ml.Model{
		Format:   ml.ModelFormat,
		Schema:   *s,
		Classes:  s.Classes,
		Features: s.Features,
		Bias:     f.Bias,
		Training: ml.TrainingInfo{
			DatasetDigest: digest, Rows: f.TrainRows,
			Epochs: o.Hyper.Epochs, LearningRate: o.Hyper.LearningRate, BatchSize: o.Hyper.BatchSize,
			L2: o.Hyper.L2, Seed: o.Hyper.Seed, Loss: f.Loss,
			Optimizer: string(f.Optimizer), EpochsRun: f.Epochs, StoppedEarly: f.StoppedEarly,
			ValidationRows: f.ValidationRows, ValidationLoss: f.ValidationLoss,
		},
	}
	m.Weights = make([][]float64, len(s.Classes))
	for c := range m.Weights {
		m.Weights[c] = mat.Row(nil, c, f.W)
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
	u.done(f.TrainRows * f.Epochs)
	return t, nil
}

// fit trains on the training split, streamed block by block, logging every epoch and a summary line.
func fit(ctx context.Context, ds ml.Dataset, h ml.FitOptions, log io.Writer) (*ml.Fitted, error) {
	if ds.Len() == 0 {
		return nil, errors.New("the training split has no rows")
	}
	start := time.Now()
	f, err := ml.Fit(ctx, ds, h, func(p ml.Progress) { fmt.Fprintln(log, p) })
	if err != nil {
		return nil, err
	}
	stop := "ran all epochs"
	switch {
	case f.StoppedEarly:
		stop = fmt.Sprintf("stopped early, weights of epoch %d (val-loss %.6f)", f.BestEpoch, f.ValidationLoss)
	case f.Converged:
		stop = "converged"
	}
	elapsed := time.Since(start)
	fmt.Fprintf(log, "trained by %s: %d of %d epochs, %s; %d training rows, %d validation rows; loss %.6f; %.0f rows/s\n",
		f.Optimizer, f.Epochs, h.Epochs, stop, f.TrainRows, f.ValidationRows, f.Loss,
		float64(f.TrainRows*f.Epochs)/elapsed.Seconds())
	return f, nil
}
