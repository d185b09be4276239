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

package main

// This file holds everything the harness assumes about the steps' dataset format, flags and log lines; the rest
// of it only runs processes and measures them.

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"

	"github.com/mlpipe/mlpipe/pkg/ml"
)

// trainFlags returns the train step's flags (besides --dataset and --out) that train with optimizer ("auto": the
// step's default choice, "sgd" or "lbfgs") for epochs passes over all training rows; ok is false when the step
// cannot be made to use that optimizer. With lbfgs, epochs caps its iterations (at least 100).
func trainFlags(optimizer string, epochs int) (flags []string, ok bool) {
	if optimizer == "lbfgs" {
		epochs = max(epochs, 100) // iterations to convergence, as scikit-learn's max_iter=100
	}
	switch optimizer {
	case "auto", "sgd", "lbfgs":
		// No validation rows: the same rows and epochs as scikit-learn, and rows/s exact (rows × epoch lines).
		return []string{"--optimizer", optimizer, "--epochs", strconv.Itoa(epochs), "--validation-fraction", "0"}, true
	default:
		return nil, false
	}
}

// epochRE matches the train step's line at the end of each epoch ("epoch 3/20 loss 0.412").
var epochRE = regexp.MustCompile(`^epoch \d+/\d+\b`)

// epochLine reports whether a line of the train step's log marks the end of an epoch.
func epochLine(line string) bool { return epochRE.MatchString(line) }

// splitCounts are the row counts a preprocessed dataset's schema.json records.
type splitCounts struct {
	Input, Train, Test int
}

// readCounts parses the counts of schema.json.
func readCounts(schemaJSON []byte) (splitCounts, error) {
	var s struct {
		Counts struct {
			Input int `json:"input"`
			Train int `json:"train"`
			Test  int `json:"test"`
		} `json:"counts"`
	}
	if err := json.Unmarshal(schemaJSON, &s); err != nil {
		return splitCounts{}, fmt.Errorf("schema.json: %w", err)
	}
	return splitCounts{Input: s.Counts.Input, Train: s.Counts.Train, Test: s.Counts.Test}, nil
}

// eachSplitRow calls fn with the encoded features and the class index of every row of split ("train" or "test")
// of the local preprocessed dataset in dir, in stored order, reading the split as the train and evaluate steps
// do: <dir>/<split>.arrow through pkg/ml, checked against schema.json. x is reused between calls.
func eachSplitRow(dir, split string, fn func(x []float64, class int) error) error {
	name := ml.TrainFile
	if split == "test" {
		name = ml.TestFile
	}
	s, f, err := ml.OpenSplit(context.Background(), dir, name)
	if err != nil {
		return err
	}
	defer f.Close()
	x := make([]float64, len(s.Features))
	return ml.Each(f, func(b ml.Batch) error {
		for r, class := range b.Y {
			copy(x, b.X.RawRowView(r))
			if err := fn(x, class); err != nil {
				return err
			}
		}
		return nil
	})
}
