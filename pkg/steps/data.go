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
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/mlpipe/mlpipe/pkg/dataopts"
	"github.com/mlpipe/mlpipe/pkg/suggest"
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

// raw returns the value that encodes v: v itself, or Fill when v is missing and the column has one.
func (c *Column) raw(v string) (string, error) {
	if !isMissing(v) {
		return v, nil
	}
	if c.Fill == "" {
		return "", fmt.Errorf("column %q has a missing value", c.Name)
	}
	return c.Fill, nil
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

// missingTokens are the (case-insensitive) values read as missing.
var missingTokens = map[string]bool{"": true, "na": true, "n/a": true, "nan": true, "null": true, "?": true}

func isMissing(v string) bool { return missingTokens[strings.ToLower(v)] }

// table is a parsed CSV: a header and rows of trimmed strings.
type table struct {
	header []string
	rows   [][]string
	// delim is the field delimiter the CSV was read with.
	delim rune
}

// exclude removes the named columns from the table before any cleaning, so that a missing value in an
// excluded column drops no row. It returns the removed names in input order.
func (t *table) exclude(names []string, label, what string) ([]string, error) {
	drop := map[string]bool{}
	for _, n := range names {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		if n == label {
			return nil, fmt.Errorf("cannot exclude %q: it is the label column", n)
		}
		if t.index(n) < 0 {
			return nil, fmt.Errorf("excluded column %q is not in %s%s (columns: %s)", n, what, suggest.Hint(n, t.header), quoteNames(t.header))
		}
		drop[n] = true
	}
	if len(drop) == 0 {
		return nil, nil
	}
	var keep []int
	var removed []string
	for j, h := range t.header {
		if drop[h] {
			removed = append(removed, h)
			continue
		}
		keep = append(keep, j)
	}
	header := make([]string, len(keep))
	for k, j := range keep {
		header[k] = t.header[j]
	}
	for i, rec := range t.rows {
		out := make([]string, len(keep))
		for k, j := range keep {
			out[k] = rec[j]
		}
		t.rows[i] = out
	}
	t.header = header
	return removed, nil
}

// parseCSV parses CSV bytes strictly: a header row, the same number of fields in every row, text only. A zero
// delim detects the delimiter (detectDelimiter); the table records the one used.
func parseCSV(data []byte, what string, delim rune) (*table, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("%s is empty: a CSV with a header row is required", what)
	}
	if bytes.IndexByte(data, 0) >= 0 || !utf8.Valid(data) {
		return nil, fmt.Errorf("%s is not a CSV file: it holds binary (non-UTF-8) content", what)
	}
	given := delim != 0
	if !given {
		delim = detectDelimiter(data)
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.Comma = delim
	r.ReuseRecord = false
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%s is not a valid CSV file: %w%s", what, err, delimiterHint(data, delim, given))
	}
	t := &table{header: make([]string, len(header)), delim: delim}
	seen := map[string]bool{}
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		if h == "" {
			return nil, fmt.Errorf("%s: header column %d has no name", what, i+1)
		}
		if seen[h] {
			return nil, fmt.Errorf("%s: header names column %q twice", what, h)
		}
		seen[h] = true
		t.header[i] = h
	}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s is not a valid CSV file: %w%s", what, err, delimiterHint(data, delim, given))
		}
		for i := range rec {
			rec[i] = strings.TrimSpace(rec[i])
		}
		t.rows = append(t.rows, rec)
	}
	if len(t.rows) == 0 {
		return nil, fmt.Errorf("%s has a header but no data rows", what)
	}
	if len(t.header) < 2 {
		hint := delimiterHint(data, delim, given)
		if hint == "" {
			hint = " (is it a CSV?)"
		}
		return nil, fmt.Errorf("%s has a single column %q with delimiter %q: need feature columns and a label column%s",
			what, t.header[0], dataopts.DelimiterName(delim), hint)
	}
	return t, nil
}

// candidateDelimiters are the delimiters detectDelimiter tries, the preferred one first.
var candidateDelimiters = []rune{',', ';', '\t', '|'}

// detectSample bounds how much of a file detectDelimiter reads.
const detectSample = 64 << 10

// detectDelimiter returns the delimiter that splits the start of data into the most columns (at least two) with
// the same number of fields on every line; ',' when none does (the strict parse then says what is wrong).
func detectDelimiter(data []byte) rune {
	best, bestFields := ',', 1
	for _, d := range candidateDelimiters {
		if n := fieldsWith(data, d); n > bestFields {
			best, bestFields = d, n
		}
	}
	return best
}

// fieldsWith returns the number of fields every line of the start of data has with delimiter d, or 0 when the
// lines disagree or do not parse.
func fieldsWith(data []byte, d rune) int {
	sample, truncated := data, false
	if len(sample) > detectSample {
		sample, truncated = sample[:detectSample], true
		if i := bytes.LastIndexByte(sample, '\n'); i > 0 {
			sample = sample[:i+1]
		}
	}
	r := csv.NewReader(bytes.NewReader(sample))
	r.Comma = d
	fields, lines := 0, 0
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return fields
		}
		if err != nil {
			if truncated && lines >= 2 && !errors.Is(err, csv.ErrFieldCount) {
				return fields // a quoted field cut by the sample's end
			}
			return 0
		}
		fields, lines = len(rec), lines+1
	}
}

// delimiterHint says which delimiter the file reads with when it is not the one used: the hint of a CSV that
// failed to parse.
func delimiterHint(data []byte, used rune, given bool) string {
	d := detectDelimiter(data)
	if d == used || fieldsWith(data, d) < 2 {
		return ""
	}
	how := "set --delimiter or spec.data.delimiter to it"
	if given {
		how = "set --delimiter or spec.data.delimiter to it, or leave it empty to detect it"
	}
	return fmt.Sprintf(" (the file reads as %q-delimited: %s)", dataopts.DelimiterName(d), how)
}

func (t *table) index(name string) int { return slices.Index(t.header, name) }

// parseNumber parses a finite float.
func parseNumber(v string) (float64, bool) {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

// sortClasses sorts label values numerically when all are numbers, else lexically.
func sortClasses(classes []string) {
	allNum := true
	for _, c := range classes {
		if _, ok := parseNumber(c); !ok {
			allNum = false
			break
		}
	}
	sort.SliceStable(classes, func(i, j int) bool {
		if allNum {
			a, _ := parseNumber(classes[i])
			b, _ := parseNumber(classes[j])
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
		v, err := c.raw(strings.TrimSpace(values[i]))
		if err != nil {
			return err
		}
		switch c.Type {
		case TypeNumeric:
			f, ok := parseNumber(v)
			if !ok {
				return fmt.Errorf("column %q is numeric, got %q", c.Name, v)
			}
			std := c.Std
			if std == 0 {
				std = 1
			}
			dst[j] = (f - c.Mean) / std
			j++
		case TypeCategorical:
			if !slices.Contains(c.Categories, v) {
				return fmt.Errorf("column %q has unknown category %q (known categories: %s)", c.Name, v, quoteNames(c.Categories))
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

// featureNames returns the encoded feature names for columns.
func featureNames(cols []Column) []string {
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
	if want := featureNames(s.Columns); !slices.Equal(want, s.Features) {
		return fmt.Errorf("schema features %v do not match its columns (which encode to %v)", s.Features, want)
	}
	return nil
}

// encodedCSV renders an encoded split: the feature columns then the label column.
func encodedCSV(s *Schema, x [][]float64, labels []string) ([]byte, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	rec := append(slices.Clone(s.Features), s.Label)
	if err := w.Write(rec); err != nil {
		return nil, err
	}
	for i, row := range x {
		rec = rec[:0]
		for _, v := range row {
			rec = append(rec, strconv.FormatFloat(v, 'g', -1, 64))
		}
		rec = append(rec, labels[i])
		if err := w.Write(rec); err != nil {
			return nil, err
		}
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}

// readEncoded parses an encoded split written by preprocess, checking it against the schema: it returns the
// feature matrix rows and the class index of each row.
func readEncoded(data []byte, s *Schema, what string) ([][]float64, []int, error) {
	t, err := parseCSV(data, what, ',')
	if err != nil {
		return nil, nil, err
	}
	want := append(slices.Clone(s.Features), s.Label)
	if !slices.Equal(t.header, want) {
		return nil, nil, fmt.Errorf("%s: columns %v do not match the schema's features and label %v", what, t.header, want)
	}
	classIdx := map[string]int{}
	for i, c := range s.Classes {
		classIdx[c] = i
	}
	d := len(s.Features)
	x := make([][]float64, len(t.rows))
	y := make([]int, len(t.rows))
	flat := make([]float64, len(t.rows)*d)
	for i, rec := range t.rows {
		x[i] = flat[i*d : (i+1)*d]
		for j := 0; j < d; j++ {
			f, ok := parseNumber(rec[j])
			if !ok {
				return nil, nil, fmt.Errorf("%s: row %d column %q: %q is not a number", what, i+2, s.Features[j], rec[j])
			}
			x[i][j] = f
		}
		k, ok := classIdx[rec[d]]
		if !ok {
			return nil, nil, fmt.Errorf("%s: row %d has label %q, which is not one of the schema's classes %v", what, i+2, rec[d], s.Classes)
		}
		y[i] = k
	}
	return x, y, nil
}

// quoteNames lists column names quoted, so that a name holding a comma or spaces reads unambiguously.
func quoteNames(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}
