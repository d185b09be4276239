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

// Command gen-data writes the bundled example dataset examples/data/churn.csv, deterministically:
//
//	go run ./hack/gen-data -out examples/data/churn.csv
package main

import (
	"encoding/csv"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mlpipe/mlpipe/pkg/steps/synth"
)

func main() {
	out := flag.String("out", "examples/data/churn.csv", "output CSV path")
	rows := flag.Int("rows", 400, "number of generated rows (before defects are added)")
	seed := flag.Uint64("seed", 7, "random seed")
	missing := flag.Int("missing", 6, "rows that get a missing value")
	dups := flag.Int("duplicates", 5, "exact duplicate rows to add")
	flag.Parse()
	if err := write(*out, synth.WithDefects(synth.Churn(*rows, *seed), *missing, *dups, *seed), synth.Header); err != nil {
		fmt.Fprintln(os.Stderr, "gen-data:", err)
		os.Exit(1)
	}
}

func write(path string, rows [][]string, header []string) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".gen-data-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	w := csv.NewWriter(f)
	if err := w.Write(header); err != nil {
		return err
	}
	if err := w.WriteAll(rows); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
