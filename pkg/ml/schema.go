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
	"sort"
	"strconv"
	"strings"
)

// Column types recorded in the schema.
const (
	// TypeNumeric is a column whose every value parses as a finite number; it is standardised.
	TypeNumeric = "numeric"
	// TypeCategorical is any other column; it is one-hot encoded.
	TypeCategorical = "categorical"
)

// SchemaFormat identifies the schema.json format.
const SchemaFormat = "mlpipe.schema/v1"

// Schema describes a preprocessed dataset: how raw rows map to the feature matrix, and what the split holds.
type Schema struct {
	// Format is SchemaFormat.
	Format string `json:"format"`
	// Source identifies the input CSV the dataset was made from.
	Source Source `json:"source"`
	// Label is the name of the label column.
	Label string `json:"label"`
	// Classes are the label's distinct values, sorted (numerically when all are numbers).
	Classes []string `json:"classes"`
	// Columns are the raw feature columns, in input order, with what encodes them.
	Columns []Column `json:"columns"`
	// Features are the encoded feature names, in feature-matrix order ("col" or "col=category").
	Features []string `json:"features"`
	// DroppedColumns are the input columns that are not features, with why: "excluded" (asked for) or
	// "identifier" (a different non-numeric value in every row).
	DroppedColumns []DroppedColumn `json:"droppedColumns,omitempty"`
	// Missing is the missing-value policy: "drop" (rows with a missing value were dropped) or "impute" (missing
	// feature values are filled with each column's Fill, here and at serving time).
	Missing string `json:"missing"`
	// Counts are the row counts of the cleaning and the split.
	Counts Counts `json:"counts"`
	// TestFraction and Seed are the split parameters.
	TestFraction float64 `json:"testFraction"`
	// Seed is the split's random seed.
	Seed int64 `json:"seed"`
}

// DroppedColumn is an input column left out of the features.
type DroppedColumn struct {
	// Name is the CSV header.
	Name string `json:"name"`
	// Reason is "excluded" or "identifier".
	Reason string `json:"reason"`
}

// Source identifies the raw input by content; its location is deliberately not recorded, so that the same data
// read from file:// or s3:// yields the same dataset digest.
type Source struct {
	// Digest is "sha256:<hex>" of the CSV's bytes.
	Digest string `json:"digest"`
}

// Column is one raw feature column.
type Column struct {
	// Name is the CSV header.
	Name string `json:"name"`
	// Type is TypeNumeric or TypeCategorical.
	Type string `json:"type"`
	// Mean and Std standardise a numeric column; they are fitted on the training split only.
	Mean float64 `json:"mean,omitempty"`
	// Std is the training split's population standard deviation (1 when it is 0).
	Std float64 `json:"std,omitempty"`
	// Categories is the one-hot vocabulary of a categorical column, sorted; any other value is refused.
	Categories []string `json:"categories,omitempty"`
	// Fill replaces a missing value (policy "impute"): the training split's median of a numeric column, its most
	// frequent value of a categorical one. Empty means a missing value is refused.
	Fill string `json:"fill,omitempty"`
	// Imputed is how many of the dataset's values of this column were missing and filled.
	Imputed int `json:"imputed,omitempty"`
}

// Raw returns the value that encodes v: v itself, or Fill when v is missing and the column has one.
func (c *Column) Raw(v string) (string, error) {
	if !IsMissing(v) {
		return v, nil
	}
	if c.Fill == "" {
		return "", fmt.Errorf("column %q has a missing value", c.Name)
	}
	return c.Fill, nil
}

// Standardise returns the standardised value of the number f of a numeric column: (f−Mean)/Std, a Std of 0
// counting as 1.
func (c *Column) Standardise(f float64) float64 {
	std := c.Std
	if std == 0 {
		std = 1
	}
	return (f - c.Mean) / std
}

// Counts records how many rows each stage kept or dropped.
type Counts struct {
	// Input is the number of data rows in the CSV.
	Input int `json:"input"`
	// DroppedMissing is the number of rows dropped for a missing value (policy "impute": a missing label).
	DroppedMissing int `json:"droppedMissing"`
	// Imputed is the number of kept rows that had at least one missing feature value filled.
	Imputed int `json:"imputed,omitempty"`
	// DroppedDuplicates is the number of exact duplicate rows dropped.
	DroppedDuplicates int `json:"droppedDuplicates"`
	// Rows is the number of rows kept (train + test).
	Rows int `json:"rows"`
	// Train and Test are the split sizes.
	Train int `json:"train"`
	// Test is the test split's size.
	Test int `json:"test"`
	// PerClass is the number of kept rows of each class.
	PerClass map[string]int `json:"perClass"`
	// TrainPerClass is the number of training rows of each class (the majority-class baseline's priors).
	TrainPerClass map[string]int `json:"trainPerClass,omitempty"`
	// TestPerClass is the number of test rows of each class.
	TestPerClass map[string]int `json:"testPerClass,omitempty"`
}

// IsMissing says whether v is one of the (case-insensitive) missing-value tokens: "", "NA", "N/A", "NaN",
// "null", "?".
func IsMissing(v string) bool {
	if len(v) > 0 && v[0] != '?' && v[0]|0x20 != 'n' {
		return false // most values: no token starts with their first byte
	}
	switch len(v) {
	case 0:
		return true
	case 1:
		return v == "?"
	case 2:
		return strings.EqualFold(v, "na")
	case 3:
		return strings.EqualFold(v, "n/a") || strings.EqualFold(v, "nan")
	case 4:
		return strings.EqualFold(v, "null")
	}
	return false
}

// ParseNumber parses a finite float.
func ParseNumber(v string) (float64, bool) {
	if !mayBeFinite(v) {
		return 0, false // text, rejected without strconv's allocated error
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

// finiteBytes marks the bytes a finite number strconv.ParseFloat accepts can hold (decimal and hexadecimal
// forms, exponents, underscores).
var finiteBytes = func() (t [256]bool) {
	for _, c := range "0123456789abcdefABCDEF+-._xXpP" {
		t[c] = true
	}
	return t
}()

// mayBeFinite is false for text that cannot be a finite number (every word with a letter outside a-f, x, p,
// such as "blue", "inf" or "nan").
func mayBeFinite(v string) bool {
	for i := 0; i < len(v); i++ {
		if !finiteBytes[v[i]] {
			return false
		}
	}
	return v != ""
}

// SortClasses sorts label values numerically when all are numbers, else lexically.
func SortClasses(classes []string) {
	allNum := true
	for _, c := range classes {
		if _, ok := ParseNumber(c); !ok {
			allNum = false
			break
		}
	}
	sort.SliceStable(classes, func(i, j int) bool {
		if allNum {
			a, _ := ParseNumber(classes[i])
			b, _ := ParseNumber(classes[j])
			if a != b {
				return a < b
			}
		}
		return classes[i] < classes[j]
	})
}

// EncodeRow encodes the raw values of one row (aligned with s.Columns) into dst (len(s.Features)).
func (s *Schema) EncodeRow(values []string, dst []float64) error {
	if len(values) != len(s.Columns) {
		return fmt.Errorf("row has %d values, the schema has %d feature columns", len(values), len(s.Columns))
	}
	if len(dst) != len(s.Features) {
		return fmt.Errorf("feature buffer has %d slots, the schema has %d features", len(dst), len(s.Features))
	}
	j := 0
	for i, c := range s.Columns {
		v, err := c.Raw(strings.TrimSpace(values[i]))
		if err != nil {
			return err
		}
		switch c.Type {
		case TypeNumeric:
			f, ok := ParseNumber(v)
			if !ok {
				return fmt.Errorf("column %q is numeric, got %q", c.Name, v)
			}
			dst[j] = c.Standardise(f)
			j++
		case TypeCategorical:
			if !slices.Contains(c.Categories, v) {
				return fmt.Errorf("column %q has unknown category %q (known categories: %s)", c.Name, v, QuoteNames(c.Categories))
			}
			for k, cat := range c.Categories {
				if cat == v {
					dst[j+k] = 1
				} else {
					dst[j+k] = 0
				}
			}
			j += len(c.Categories)
		default:
			return fmt.Errorf("column %q has unknown type %q", c.Name, c.Type)
		}
	}
	return nil
}

// FeatureNames returns the encoded feature names for columns.
func FeatureNames(cols []Column) []string {
	var names []string
	for _, c := range cols {
		if c.Type == TypeNumeric {
			names = append(names, c.Name)
			continue
		}
		for _, cat := range c.Categories {
			names = append(names, c.Name+"="+cat)
		}
	}
	return names
}

// Validate checks that the schema is self-consistent.
func (s *Schema) Validate() error {
	if s.Format != SchemaFormat {
		return fmt.Errorf("unsupported schema format %q (want %q)", s.Format, SchemaFormat)
	}
	if len(s.Classes) < 2 {
		return fmt.Errorf("schema has %d classes, need at least 2", len(s.Classes))
	}
	if want := FeatureNames(s.Columns); !slices.Equal(want, s.Features) {
		return fmt.Errorf("schema features %v do not match its columns (which encode to %v)", s.Features, want)
	}
	return nil
}

// QuoteNames lists names quoted, so that a name holding a comma or spaces reads unambiguously.
func QuoteNames(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}
