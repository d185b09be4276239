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
