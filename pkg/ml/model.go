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
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/mat"
)

// ModelFormat identifies the model.json format.
const ModelFormat = "mlpipe.logreg/v1"

// Model is a multinomial logistic regression together with the preprocessing that turns raw rows into features.
type Model struct {
	// Format is ModelFormat.
	Format string `json:"format"`
	// Schema is the preprocessing schema: raw columns, encodings, standardisation, classes.
	Schema Schema `json:"schema"`
	// Classes are the class labels, in the order of Weights' rows.
	Classes []string `json:"classes"`
	// Features are the feature names, in the order of Weights' columns.
	Features []string `json:"features"`
	// Weights has one row per class and one column per feature.
	Weights [][]float64 `json:"weights"`
	// Bias has one intercept per class.
	Bias []float64 `json:"bias"`
	// Training records how the model was trained.
	Training TrainingInfo `json:"training"`
}

// TrainingInfo records the hyperparameters and outcome of training.
type TrainingInfo struct {
	// DatasetURI is where the training data was read; train no longer writes it (models of older versions have
	// it): a workspace path differs between runs on the same data, and the model's digest, which register
	// dedupes on and the gate recognises the champion's own model by, must not.
	DatasetURI string `json:"datasetUri,omitempty"`
	// DatasetDigest is the digest of the dataset's files: what identifies the training data.
	DatasetDigest string `json:"datasetDigest"`
	// Rows is the number of training rows.
	Rows int `json:"rows"`
	// Epochs, LearningRate, BatchSize, L2 and Seed are the hyperparameters.
	Epochs int `json:"epochs"`
	// LearningRate is the gradient step size.
	LearningRate float64 `json:"learningRate"`
	// BatchSize is the mini-batch size.
	BatchSize int `json:"batchSize"`
	// L2 is the weight-decay coefficient: the loss adds L2/2·‖W‖².
	L2 float64 `json:"l2"`
	// Seed seeds the batch shuffling.
	Seed int64 `json:"seed"`
	// Loss is the regularised training loss of the model's weights.
	Loss float64 `json:"loss"`
	// Optimizer is the method that ran: sgd or lbfgs (empty in models of older versions, which ran sgd).
	Optimizer string `json:"optimizer,omitempty"`
	// EpochsRun is the number of epochs (sgd) or iterations (lbfgs) that ran, at most Epochs.
	EpochsRun int `json:"epochsRun,omitempty"`
	// StoppedEarly is set when the validation loss stopped improving; the weights are those of its best epoch.
	StoppedEarly bool `json:"stoppedEarly,omitempty"`
	// ValidationRows is the number of training rows held out for early stopping (--validation-fraction).
	ValidationRows int `json:"validationRows,omitempty"`
	// ValidationLoss is the mean cross-entropy of the weights on those rows.
	ValidationLoss float64 `json:"validationLoss,omitempty"`
}

// Validate checks that the weights, features, classes and schema agree.
func (m *Model) Validate() error {
	if m.Format != ModelFormat {
		return fmt.Errorf("unsupported model format %q (want %q)", m.Format, ModelFormat)
	}
	if err := m.Schema.Validate(); err != nil {
		return fmt.Errorf("model schema: %w", err)
	}
	if !slices.Equal(m.Classes, m.Schema.Classes) {
		return fmt.Errorf("model/schema mismatch: model classes %v, schema classes %v", m.Classes, m.Schema.Classes)
	}
	if !slices.Equal(m.Features, m.Schema.Features) {
		return fmt.Errorf("model/schema mismatch: model has %d features %v, schema encodes %d features %v",
			len(m.Features), m.Features, len(m.Schema.Features), m.Schema.Features)
	}
	if len(m.Weights) != len(m.Classes) || len(m.Bias) != len(m.Classes) {
		return fmt.Errorf("model/schema mismatch: %d weight rows and %d biases for %d classes", len(m.Weights), len(m.Bias), len(m.Classes))
	}
	for k, row := range m.Weights {
		if len(row) != len(m.Features) {
			return fmt.Errorf("model/schema mismatch: weight row %d (class %q) has %d values for %d features",
				k, m.Classes[k], len(row), len(m.Features))
		}
		for _, w := range row {
			if math.IsNaN(w) || math.IsInf(w, 0) {
				return fmt.Errorf("model weights of class %q are not finite", m.Classes[k])
			}
		}
	}
	return nil
}

// weightMatrix returns W as a features×classes matrix.
func (m *Model) weightMatrix() *mat.Dense {
	d, k := len(m.Features), len(m.Classes)
	w := mat.NewDense(d, k, nil)
	for c, row := range m.Weights {
		for j, v := range row {
			w.Set(j, c, v)
		}
	}
	return w
}

// PredictProba returns the class probabilities (rows×classes) of the encoded feature rows x.
func (m *Model) PredictProba(x *mat.Dense) *mat.Dense {
	n, _ := x.Dims()
	p := mat.NewDense(n, len(m.Classes), nil)
	p.Mul(x, m.weightMatrix())
	SoftmaxRows(p, m.Bias)
	return p
}

// SoftmaxRows adds bias to every row of z and replaces each row with its softmax, in place.
func SoftmaxRows(z *mat.Dense, bias []float64) {
	n, k := z.Dims()
	for i := 0; i < n; i++ {
		row := z.RawRowView(i)
		hi := math.Inf(-1)
		for c := 0; c < k; c++ {
			row[c] += bias[c]
			hi = math.Max(hi, row[c])
		}
		var sum float64
		for c := 0; c < k; c++ {
			row[c] = math.Exp(row[c] - hi)
			sum += row[c]
		}
		for c := 0; c < k; c++ {
			row[c] /= sum
		}
	}
}

// Argmax returns the index of the largest value.
func Argmax(v []float64) int {
	best := 0
	for i := range v {
		if v[i] > v[best] {
			best = i
		}
	}
	return best
}

// DenseFromRows copies rows into a new matrix (at least 1×1, so that an empty input still makes a matrix).
func DenseFromRows(rows [][]float64, cols int) *mat.Dense {
	x := mat.NewDense(max(len(rows), 1), max(cols, 1), nil)
	if len(rows) == 0 || cols == 0 {
		return x
	}
	for i, r := range rows {
		copy(x.RawRowView(i), r)
	}
	return x
}
