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
	"fmt"
	"math"
	"strings"

	"github.com/mlpipe/mlpipe/pkg/gate"
	"github.com/mlpipe/mlpipe/pkg/ml"
)

// MinTestRows is the smallest test split whose metrics the steps do not warn about: below it one row moves
// accuracy by more than three points.
const MinTestRows = 30

// splitWarnings returns the warnings about a test split with perClass rows of each of classes: fewer than
// MinTestRows rows, or a class with none. Preprocess prints them for the split it makes, evaluate for the split
// it scores.
func splitWarnings(classes []string, perClass map[string]int) []string {
	var warnings []string
	total := 0
	var absent []string
	for _, c := range classes {
		total += perClass[c]
		if perClass[c] == 0 {
			absent = append(absent, c)
		}
	}
	if total < MinTestRows {
		warnings = append(warnings, fmt.Sprintf("the test split has %d rows, fewer than %d: its metrics move by %.1f points per row; "+
			"use more data or a larger test fraction (--test-fraction, spec.data.testFraction)", total, MinTestRows, 100/math.Max(float64(total), 1)))
	}
	if len(absent) > 0 {
		warnings = append(warnings, fmt.Sprintf("the test split has no row of class(es) %s: the metrics say nothing about them; "+
			"use more data of those classes or a larger test fraction", ml.QuoteNames(absent)))
	}
	return warnings
}

// Baseline is the majority-class baseline of an evaluation: a model that predicts the training split's most
// frequent class for every row, with the training split's class shares as its probabilities.
type Baseline struct {
	// Class is the majority class of the training split.
	Class string `json:"class"`
	// Metric names the gate metric.
	Metric string `json:"metric"`
	// Value is the baseline's value of the gate metric on the test split.
	Value float64 `json:"value"`
	// Beaten reports whether the model's value is strictly better than Value.
	Beaten bool `json:"beaten"`
}

// majorityBaseline scores the majority-class baseline of dataset s on the test split and compares it with the
// model's value of metric.
func majorityBaseline(s *ml.Schema, test ml.Dataset, metric string, value float64) (*Baseline, error) {
	counts := s.Counts.TrainPerClass
	if len(counts) == 0 { // a dataset written before the training split's counts were recorded
		counts = s.Counts.PerClass
	}
	total := 0
	for _, c := range s.Classes {
		total += counts[c]
	}
	if total == 0 {
		return nil, fmt.Errorf("the dataset's schema records no class counts: rerun preprocess")
	}
	prior := &ml.Model{Classes: s.Classes, Features: s.Features, Weights: make([][]float64, len(s.Classes)), Bias: make([]float64, len(s.Classes))}
	majority := 0
	for k, c := range s.Classes {
		prior.Weights[k] = make([]float64, len(s.Features))
		prior.Bias[k] = math.Log(float64(counts[c]) / float64(total)) // softmax(log p) = p
		if counts[c] > counts[s.Classes[majority]] {
			majority = k
		}
	}
	b := &Baseline{Class: s.Classes[majority], Metric: metric}
	m, err := ml.Score(prior, test)
	if err != nil {
		return nil, err
	}
	if b.Value, err = m.Value(metric); err != nil {
		return nil, err
	}
	b.Beaten = gate.BeatsChampion(metric, value, b.Value, 0) // strictly better, in the metric's direction
	return b, nil
}

// evaluationWarnings returns the majority-class baseline and the warnings about an evaluation: a gate metric that
// does not beat the baseline (with each class's recall, where a model that ignores a minority class shows), and
// the test split's (splitWarnings).
func evaluationWarnings(s *ml.Schema, metrics *ml.Metrics, test ml.Dataset, metric string) (*Baseline, []string, error) {
	value, err := metrics.Value(metric)
	if err != nil {
		return nil, nil, err
	}
	b, err := majorityBaseline(s, test, metric, value)
	if err != nil {
		return nil, nil, err
	}
	var warnings []string
	if !b.Beaten {
		recalls := make([]string, len(metrics.PerClass))
		for i, c := range metrics.PerClass {
			recalls[i] = fmt.Sprintf("%q %s", c.Label, gate.FormatMetric(c.Recall))
		}
		warnings = append(warnings, fmt.Sprintf("%s %s does not beat the majority-class baseline %s (predicting %q for every row); recall per class: %s",
			metric, gate.FormatMetric(value), gate.FormatMetric(b.Value), b.Class, strings.Join(recalls, ", ")))
	}
	perClass := map[string]int{}
	for _, c := range metrics.PerClass {
		perClass[c.Label] = c.Support
	}
	return b, append(warnings, splitWarnings(s.Classes, perClass)...), nil
}
