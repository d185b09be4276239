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
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
)

// trainFlags returns the train step's flags (besides --dataset and --out) that train with optimizer ("auto": the
// step's default choice, "sgd" or "lbfgs") for epochs passes over all training rows; ok is false when the step
// cannot be made to use that optimizer. The train step at this commit has mini-batch gradient descent only, with
// no early stopping.
func trainFlags(optimizer string, epochs int) (flags []string, ok bool) {
	switch optimizer {
	case "auto", "sgd":
		return []string{"--epochs", strconv.Itoa(epochs)}, true
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
// do: at this commit <dir>/<split>.csv, the schema's feature columns then the label, checked against
// schema.json. x is reused between calls.
func eachSplitRow(dir, split string, fn func(x []float64, class int) error) error {
	raw, err := os.ReadFile(filepath.Join(dir, "schema.json"))
	if err != nil {
		return err
	}
	var s struct {
		Label    string   `json:"label"`
		Classes  []string `json:"classes"`
		Features []string `json:"features"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return fmt.Errorf("%s: %w", filepath.Join(dir, "schema.json"), err)
	}
	path := filepath.Join(dir, split+".csv")
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.ReuseRecord = true
	head, err := r.Read()
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if want := append(slices.Clone(s.Features), s.Label); !slices.Equal(head, want) {
		return fmt.Errorf("%s: header %v, want the schema's features and label %v", path, head, want)
	}
	d := len(s.Features)
	x := make([]float64, d)
	for line := 2; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		for j := range d {
			if x[j], err = strconv.ParseFloat(rec[j], 64); err != nil {
				return fmt.Errorf("%s:%d: column %q: %w", path, line, s.Features[j], err)
			}
		}
		class := slices.Index(s.Classes, rec[d])
		if class < 0 {
			return fmt.Errorf("%s:%d: label %q is not one of the schema's classes %v", path, line, rec[d], s.Classes)
		}
		if err := fn(x, class); err != nil {
			return err
		}
	}
}
