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

// Package synth generates the deterministic synthetic churn table used as the bundled example dataset and for
// benchmarks: numeric and categorical columns and a binary label `churned` drawn from a known logistic model.
package synth

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
)

// Header is the churn table's header; the label is the last column.
var Header = []string{"tenure_months", "monthly_charges", "support_calls", "contract", "plan", "region", "paperless_billing", "churned"}

var (
	contracts = []string{"month-to-month", "one-year", "two-year"}
	plans     = []string{"basic", "standard", "premium"}
	regions   = []string{"north", "south", "east", "west"}
)

// Churn returns n rows of the churn table, the same for the same seed.
func Churn(n int, seed uint64) [][]string {
	rng := rand.New(rand.NewPCG(seed, 0x636875726e))
	rows := make([][]string, 0, n)
	for i := 0; i < n; i++ {
		rows = append(rows, churnRow(rng))
	}
	return rows
}

func churnRow(rng *rand.Rand) []string {
	tenure := 1 + rng.IntN(72)
	contract := rng.IntN(3)
	plan := rng.IntN(3)
	region := rng.IntN(4)
	paperless := rng.IntN(2)
	charges := 20 + 25*float64(plan) + rng.NormFloat64()*8
	charges = math.Max(10, math.Round(charges*100)/100)
	calls := int(math.Max(0, math.Round(rng.ExpFloat64()*1.5)))

	z := 1.2 - 0.06*float64(tenure) - 1.3*float64(contract) + 0.035*(charges-45) + 0.55*float64(calls) +
		0.4*float64(paperless) - 0.3*float64(boolInt(region == 2))
	p := 1 / (1 + math.Exp(-z))
	label := "no"
	if rng.Float64() < p {
		label = "yes"
	}
	return []string{
		strconv.Itoa(tenure),
		strconv.FormatFloat(charges, 'f', 2, 64),
		strconv.Itoa(calls),
		contracts[contract],
		plans[plan],
		regions[region],
		[]string{"no", "yes"}[paperless],
		label,
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// WithDefects copies rows and adds the defects the bundled example demonstrates: missing values blanked in
// `missing` rows and `dups` exact duplicates appended, at positions fixed by seed.
func WithDefects(rows [][]string, missing, dups int, seed uint64) [][]string {
	rng := rand.New(rand.NewPCG(seed, 0x64656665637473))
	out := make([][]string, len(rows))
	for i, r := range rows {
		out[i] = append([]string(nil), r...)
	}
	if len(out) == 0 {
		return out
	}
	tokens := []string{"", "NA", "?"}
	for i := 0; i < missing; i++ {
		r := out[rng.IntN(len(out))]
		r[rng.IntN(len(r)-1)] = tokens[i%len(tokens)]
	}
	for i := 0; i < dups; i++ {
		src := out[rng.IntN(len(out))]
		dup := append([]string(nil), src...)
		at := rng.IntN(len(out) + 1)
		out = append(out[:at], append([][]string{dup}, out[at:]...)...)
	}
	return out
}

// WriteNumeric writes a CSV of rows rows with features numeric columns f0…f<features-1> (standard normal, five
// decimals) and a label column "label" of classes classes "c0"…: the class whose random linear score of the
// row is highest, so the classes are linearly separable up to the rounding. The same seed gives the same file.
func WriteNumeric(w io.Writer, rows, features, classes int, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, 0x6e756d65726963))
	weights := make([][]float64, classes)
	for k := range weights {
		weights[k] = make([]float64, features)
		for j := range weights[k] {
			weights[k][j] = rng.NormFloat64()
		}
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	for j := 0; j < features; j++ {
		fmt.Fprintf(bw, "f%d,", j)
	}
	bw.WriteString("label\n")
	x := make([]float64, features)
	var line []byte
	for i := 0; i < rows; i++ {
		line = line[:0]
		for j := range x {
			x[j] = rng.NormFloat64()
			line = strconv.AppendFloat(line, x[j], 'f', 5, 64)
			line = append(line, ',')
		}
		best, bestScore := 0, math.Inf(-1)
		for k, wk := range weights {
			var s float64
			for j, v := range x {
				s += wk[j] * v
			}
			if s > bestScore {
				best, bestScore = k, s
			}
		}
		line = append(line, 'c')
		line = strconv.AppendInt(line, int64(best), 10)
		line = append(line, '\n')
		if _, err := bw.Write(line); err != nil {
			return err
		}
	}
	return bw.Flush()
}
