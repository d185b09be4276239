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
	"strings"

	"gonum.org/v1/gonum/mat"
)

// MetricNames are the metrics Metrics.Value knows.
var MetricNames = []string{"accuracy", "precision", "recall", "f1", "log-loss"}

// Metrics are the evaluation metrics of a model on a dataset split.
type Metrics struct {
	// Accuracy is the share of rows predicted right.
	Accuracy float64 `json:"accuracy"`
	// Precision, Recall and F1 are macro averages over the classes.
	Precision float64 `json:"precision"`
	// Recall is the macro-averaged recall.
	Recall float64 `json:"recall"`
	// F1 is the macro-averaged F1 score.
	F1 float64 `json:"f1"`
	// LogLoss is the mean cross-entropy of the predicted probabilities.
	LogLoss float64 `json:"logLoss"`
	// Rows is the number of rows scored.
	Rows int `json:"rows"`
	// Labels name the rows and columns of Confusion.
	Labels []string `json:"labels"`
	// Confusion counts rows by [true class][predicted class].
	Confusion [][]int `json:"confusion"`
	// PerClass holds each class's precision, recall, F1 and support.
	PerClass []ClassMetrics `json:"perClass"`
}

// ClassMetrics are one class's one-vs-rest metrics.
type ClassMetrics struct {
	// Label is the class.
	Label string `json:"label"`
	// Precision is TP/(TP+FP), 0 when nothing was predicted as the class.
	Precision float64 `json:"precision"`
	// Recall is TP/(TP+FN), 0 when the class has no rows.
	Recall float64 `json:"recall"`
	// F1 is the harmonic mean of precision and recall.
	F1 float64 `json:"f1"`
	// Support is the number of rows of the class.
	Support int `json:"support"`
}

// Value returns the named metric.
func (m *Metrics) Value(name string) (float64, error) {
	switch name {
	case "accuracy":
		return m.Accuracy, nil
	case "precision":
		return m.Precision, nil
	case "recall":
		return m.Recall, nil
	case "f1":
		return m.F1, nil
	case "log-loss":
		return m.LogLoss, nil
	}
	return 0, fmt.Errorf("unknown metric %q (want one of %s)", name, strings.Join(MetricNames, ", "))
}

// Scorer accumulates a model's confusion matrix and log loss over blocks of encoded rows.
type Scorer struct {
	m         *Model
	w         *mat.Dense
	p         *mat.Dense
	confusion [][]int
	logLoss   float64
	rows      int
}

// NewScorer returns a Scorer of m with nothing scored yet.
func NewScorer(m *Model) *Scorer {
	k := len(m.Classes)
	s := &Scorer{m: m, w: m.weightMatrix(), confusion: make([][]int, k)}
	for i := range s.confusion {
		s.confusion[i] = make([]int, k)
	}
	return s
}

// Add scores the encoded rows x with true class indices y.
func (s *Scorer) Add(x *mat.Dense, y []int) {
	n, _ := x.Dims()
	if n == 0 {
		return
	}
	k := len(s.m.Classes)
	if s.p == nil || s.p.RawMatrix().Rows < n {
		s.p = mat.NewDense(n, k, nil)
	}
	p := s.p.Slice(0, n, 0, k).(*mat.Dense)
	p.Mul(x, s.w)
	SoftmaxRows(p, s.m.Bias)
	for i := 0; i < n; i++ {
		row := p.RawRowView(i)
		s.confusion[y[i]][Argmax(row)]++
		s.logLoss -= math.Log(math.Min(math.Max(row[y[i]], 1e-15), 1-1e-15))
	}
	s.rows += n
}

// Metrics returns the metrics of the rows added so far.
func (s *Scorer) Metrics() *Metrics {
	k := len(s.m.Classes)
	r := &Metrics{Rows: s.rows, Labels: slices.Clone(s.m.Classes), Confusion: make([][]int, k)}
	correct := 0
	for i := range r.Confusion {
		r.Confusion[i] = slices.Clone(s.confusion[i])
		correct += s.confusion[i][i]
	}
	if s.rows == 0 {
		return r
	}
	r.LogLoss = s.logLoss / float64(s.rows)
	r.Accuracy = float64(correct) / float64(s.rows)
	for c := 0; c < k; c++ {
		tp, fp, fn := r.Confusion[c][c], 0, 0
		for o := 0; o < k; o++ {
			if o != c {
				fp += r.Confusion[o][c]
				fn += r.Confusion[c][o]
			}
		}
		cm := ClassMetrics{Label: s.m.Classes[c], Support: tp + fn}
		if tp+fp > 0 {
			cm.Precision = float64(tp) / float64(tp+fp)
		}
		if tp+fn > 0 {
			cm.Recall = float64(tp) / float64(tp+fn)
		}
		if cm.Precision+cm.Recall > 0 {
			cm.F1 = 2 * cm.Precision * cm.Recall / (cm.Precision + cm.Recall)
		}
		r.PerClass = append(r.PerClass, cm)
		r.Precision += cm.Precision / float64(k)
		r.Recall += cm.Recall / float64(k)
		r.F1 += cm.F1 / float64(k)
	}
	return r
}

// Score computes the metrics of m over every block of d.
func Score(m *Model, d Dataset) (*Metrics, error) {
	s := NewScorer(m)
	err := Each(d, func(b Batch) error {
		s.Add(b.X, b.Y)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.Metrics(), nil
}
