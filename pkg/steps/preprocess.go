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
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mlpipe/mlpipe/pkg/dataopts"
	"github.com/mlpipe/mlpipe/pkg/store"
	"github.com/mlpipe/mlpipe/pkg/suggest"
)

// PreprocessOptions are the flags of `step preprocess`.
type PreprocessOptions struct {
	// Data is the URI of the input CSV.
	Data string
	// Label is the name of the label column.
	Label string
	// Out is the URI of the output directory (train.csv, test.csv, schema.json).
	Out string
	// TestFraction is the share of each class held out for testing.
	TestFraction float64
	// Seed seeds the split.
	Seed int64
	// MaxCategories is the largest one-hot vocabulary a categorical column may have.
	MaxCategories int
	// MaxClasses is the largest number of distinct label values.
	MaxClasses int
	// Exclude names columns left out of the features (identifiers, free text, leaking columns).
	Exclude []string
	// Delimiter is the CSV's field delimiter (dataopts.ParseDelimiter); empty detects it.
	Delimiter string
	// Missing is the missing-value policy: dataopts.MissingDrop (or empty) or dataopts.MissingImpute.
	Missing string
	// ResultsDir receives the Tekton results.
	ResultsDir string
}

// Preprocessed is what a preprocess run produced.
type Preprocessed struct {
	// Schema is the written schema.json.
	Schema *Schema
	// URI is the output directory's URI.
	URI string
	// Digest is the dataset digest: sha256 of train.csv, test.csv and schema.json, concatenated in that order.
	Digest string
	// Warnings are what the log printed as "warning: ...": a test split too small to trust, a class missing from it.
	Warnings []string
}

func newPreprocessCommand() *cobra.Command {
	o := &PreprocessOptions{}
	cmd := &cobra.Command{
		Use:   "preprocess",
		Short: "Clean a CSV, encode its features and split it into train and test sets",
		Long: "Reads the CSV at --data (delimiter detected unless --delimiter is given), drops exact duplicates and rows\n" +
			"with missing values (--missing=impute instead fills missing feature values with the training split's median\n" +
			"or most frequent value), infers column types, one-hot encodes categorical columns, standardises numeric ones\n" +
			"(statistics fitted on the training split), and writes <out>/train.csv, <out>/test.csv and <out>/schema.json\n" +
			"after a stratified split; it warns when the test split has fewer than 30 rows or lacks a class.\n" +
			"Results: dataset-uri, dataset-digest, rows, dropped-rows.",
		Args: cobra.NoArgs,
	}
	cmd.Flags().StringVar(&o.Data, "data", "", "URI of the input CSV (file:///path, path or s3://bucket/key)")
	cmd.Flags().StringVar(&o.Label, "label", "", "name of the label column")
	cmd.Flags().StringVar(&o.Out, "out", "", "URI of the output directory")
	cmd.Flags().Float64Var(&o.TestFraction, "test-fraction", 0.2, "fraction of each class held out for the test split")
	cmd.Flags().Int64Var(&o.Seed, "seed", 42, "random seed of the split")
	cmd.Flags().IntVar(&o.MaxCategories, "max-categories", 50, "largest number of distinct values a categorical column may have")
	cmd.Flags().IntVar(&o.MaxClasses, "max-classes", 100, "largest number of distinct label values (classes)")
	cmd.Flags().StringSliceVar(&o.Exclude, "exclude", nil, "columns to leave out of the features, comma-separated (CSV quoting for names with commas) or repeated")
	cmd.Flags().StringVar(&o.Delimiter, "delimiter", "", `CSV field delimiter: ",", ";", "tab" or "|" (empty: detect it)`)
	cmd.Flags().StringVar(&o.Missing, "missing", dataopts.MissingDrop, `rows with a missing value: "drop" them, or "impute" the value from the training split (median / most frequent)`)
	addResultsDirFlag(cmd, &o.ResultsDir)
	cmd.RunE = runE([]string{"data", "label", "out"}, func(cmd *cobra.Command) error {
		p, err := Preprocess(cmd.Context(), o, cmd.ErrOrStderr())
		if err != nil {
			return err
		}
		c := p.Schema.Counts
		return writeResults(o.ResultsDir,
			result{"dataset-uri", p.URI},
			result{"dataset-digest", p.Digest},
			result{"rows", strconv.Itoa(c.Rows)},
			result{"dropped-rows", strconv.Itoa(c.DroppedMissing + c.DroppedDuplicates)},
		)
	})
	return cmd
}

// Preprocess runs the preprocess step and logs progress to log.
func Preprocess(ctx context.Context, o *PreprocessOptions, log io.Writer) (*Preprocessed, error) {
	if !(o.TestFraction > 0 && o.TestFraction < 1) {
		return nil, fmt.Errorf("--test-fraction must be between 0 and 1 (exclusive), got %v", o.TestFraction)
	}
	if o.MaxCategories < 1 {
		return nil, fmt.Errorf("--max-categories must be at least 1, got %d", o.MaxCategories)
	}
	delim, err := dataopts.ParseDelimiter(o.Delimiter)
	if err != nil {
		return nil, fmt.Errorf("invalid --delimiter: %w", err)
	}
	if err := dataopts.CheckMissing(o.Missing); err != nil {
		return nil, fmt.Errorf("invalid --missing: %w", err)
	}
	impute := o.Missing == dataopts.MissingImpute
	out, err := store.Open(ctx, o.Out)
	if err != nil {
		return nil, fmt.Errorf("invalid --out: %w", err)
	}
	raw, err := store.ReadURI(ctx, o.Data)
	if err != nil {
		return nil, fmt.Errorf("error reading --data: %w", err)
	}
	t, err := parseCSV(raw, o.Data, delim)
	if err != nil {
		return nil, err
	}
	if delim == 0 && t.delim != ',' {
		fmt.Fprintf(log, "detected delimiter %q in %s\n", dataopts.DelimiterName(t.delim), o.Data)
	}
	if t.index(o.Label) < 0 {
		return nil, fmt.Errorf("label column %q is not in %s%s (columns: %s)", o.Label, o.Data, suggest.Hint(o.Label, t.header), quoteNames(t.header))
	}
	excluded, err := t.exclude(o.Exclude, o.Label, o.Data)
	if err != nil {
		return nil, err
	}
	labelIdx := t.index(o.Label)

	s := &Schema{
		Format:       SchemaFormat,
		Source:       Source{Digest: store.Digest(raw)},
		Label:        o.Label,
		TestFraction: o.TestFraction,
		Seed:         o.Seed,
		Missing:      dataopts.MissingDrop,
	}
	if impute {
		s.Missing = dataopts.MissingImpute
	}
	for _, name := range excluded {
		s.DroppedColumns = append(s.DroppedColumns, DroppedColumn{Name: name, Reason: "excluded"})
	}
	if len(excluded) > 0 {
		fmt.Fprintf(log, "excluded %d column(s) from the features: %s\n", len(excluded), strings.Join(excluded, ", "))
	}
	s.Counts.Input = len(t.rows)

	rows := clean(t.rows, labelIdx, impute, &s.Counts)
	what := "with missing values"
	if impute {
		what = "with a missing label"
	}
	fmt.Fprintf(log, "read %d rows from %s; dropped %d %s and %d duplicates; %d left\n",
		s.Counts.Input, o.Data, s.Counts.DroppedMissing, what, s.Counts.DroppedDuplicates, len(rows))
	if len(rows) == 0 {
		return nil, fmt.Errorf("no rows left in %s: all %d rows have missing values or are duplicates", o.Data, s.Counts.Input)
	}
	perClass, err := classesOf(s, rows, labelIdx, o)
	if err != nil {
		return nil, err
	}
	featIdx, err := columnsOf(s, t.header, rows, labelIdx, o, log)
	if err != nil {
		return nil, err
	}
	trainRows, testRows := split(s, rows, perClass, o)
	if len(testRows) == 0 {
		return nil, fmt.Errorf("the test split is empty: %d rows with --test-fraction=%v", len(rows), o.TestFraction)
	}
	s.Counts.Rows, s.Counts.Train, s.Counts.Test = len(rows), len(trainRows), len(testRows)
	s.Counts.TrainPerClass = countClasses(trainRows, labelIdx)
	s.Counts.TestPerClass = countClasses(testRows, labelIdx)
	if impute {
		if err := fitImputation(s, featIdx, trainRows, testRows, log); err != nil {
			return nil, err
		}
	}
	if err := fitStandardisation(s, featIdx, trainRows); err != nil {
		return nil, err
	}

	encode := func(part [][]string) ([][]float64, []string, error) {
		x := make([][]float64, len(part))
		labels := make([]string, len(part))
		vals := make([]string, len(featIdx))
		for i, rec := range part {
			for k, j := range featIdx {
				vals[k] = rec[j]
			}
			x[i] = make([]float64, len(s.Features))
			if err := s.EncodeRow(vals, x[i]); err != nil {
				return nil, nil, err
			}
			labels[i] = rec[labelIdx]
		}
		return x, labels, nil
	}
	files := map[string][]byte{}
	for name, part := range map[string][][]string{"train.csv": trainRows, "test.csv": testRows} {
		x, labels, err := encode(part)
		if err != nil {
			return nil, fmt.Errorf("error encoding %s: %w", name, err)
		}
		if files[name], err = encodedCSV(s, x, labels); err != nil {
			return nil, fmt.Errorf("error rendering %s: %w", name, err)
		}
	}
	if files["schema.json"], err = json.MarshalIndent(s, "", "  "); err != nil {
		return nil, err
	}
	order := []string{"train.csv", "test.csv", "schema.json"}
	if err := putAll(ctx, out, files, order); err != nil {
		return nil, err
	}
	var all []byte
	for _, name := range order {
		all = append(all, files[name]...)
	}
	p := &Preprocessed{Schema: s, URI: out.URI(""), Digest: store.Digest(all)}
	fmt.Fprintf(log, "wrote %s: %d features, classes %v, train %d rows, test %d rows\n",
		p.URI, len(s.Features), s.Classes, s.Counts.Train, s.Counts.Test)
	p.Warnings = splitWarnings(s.Classes, s.Counts.TestPerClass)
	for _, w := range p.Warnings {
		fmt.Fprintf(log, "warning: %s\n", w)
	}
	return p, nil
}

// clean drops rows with a missing value (with impute: a missing label only), then exact duplicates (the first
// occurrence kept), counting both.
func clean(in [][]string, labelIdx int, impute bool, c *Counts) [][]string {
	seen := map[string]bool{}
	var rows [][]string
	for _, rec := range in {
		if impute && isMissing(rec[labelIdx]) || !impute && slices.ContainsFunc(rec, isMissing) {
			c.DroppedMissing++
			continue
		}
		key := strings.Join(rec, "\x00")
		if seen[key] {
			c.DroppedDuplicates++
			continue
		}
		seen[key] = true
		rows = append(rows, rec)
	}
	return rows
}

// classesOf records the label's classes and per-class counts in s and returns each class's row indices.
func classesOf(s *Schema, rows [][]string, labelIdx int, o *PreprocessOptions) (map[string][]int, error) {
	perClass := map[string][]int{}
	for i, rec := range rows {
		perClass[rec[labelIdx]] = append(perClass[rec[labelIdx]], i)
	}
	for c := range perClass {
		s.Classes = append(s.Classes, c)
	}
	sortClasses(s.Classes)
	if o.MaxClasses > 0 && len(s.Classes) > o.MaxClasses {
		hint := "raise --max-classes if that many classes are meant"
		if continuous(s.Classes) {
			hint = fmt.Sprintf("its values look continuous (%s, %s, …): mlpipe trains a classifier, so bin the target into classes first", s.Classes[0], s.Classes[1])
		}
		return nil, fmt.Errorf("label column %q has %d distinct values in %d rows (more than --max-classes=%d): %s",
			o.Label, len(s.Classes), len(rows), o.MaxClasses, hint)
	}
	if len(s.Classes) < 2 {
		return nil, fmt.Errorf("label column %q has only one class (%q) after cleaning: a classifier needs at least two", o.Label, s.Classes[0])
	}
	s.Counts.PerClass = map[string]int{}
	for c, idx := range perClass {
		s.Counts.PerClass[c] = len(idx)
	}
	return perClass, nil
}

// columnsOf infers each feature column's type and vocabulary from its present (non-missing) values, records them
// in s, and returns the header indices of the feature columns.
func columnsOf(s *Schema, header []string, rows [][]string, labelIdx int, o *PreprocessOptions, log io.Writer) ([]int, error) {
	var featIdx []int
	for j, name := range header {
		if j == labelIdx {
			continue
		}
		col := Column{Name: name, Type: TypeNumeric}
		distinct := map[string]bool{}
		for _, rec := range rows {
			if isMissing(rec[j]) {
				continue
			}
			if _, ok := parseNumber(rec[j]); !ok {
				col.Type = TypeCategorical
			}
			distinct[rec[j]] = true
		}
		if len(distinct) == 0 {
			return nil, fmt.Errorf("column %q has no value in any row: exclude it (--exclude, spec.data.exclude)", name)
		}
		if col.Type == TypeCategorical && len(distinct) > o.MaxCategories {
			if len(distinct) == len(rows) {
				// A different text in every row (an ID, a free-text note): one-hot
				// codes would each match one training row and none at inference.
				fmt.Fprintf(log, "dropped column %q: its %d rows all hold different text (an identifier or free text), which cannot generalise\n", name, len(rows))
				s.DroppedColumns = append(s.DroppedColumns, DroppedColumn{Name: name, Reason: "identifier"})
				continue
			}
			return nil, fmt.Errorf("column %q is not numeric and has %d distinct values (more than --max-categories=%d): "+
				"it cannot be one-hot encoded; exclude it (--exclude, spec.data.exclude), bin it, or raise --max-categories", name, len(distinct), o.MaxCategories)
		}
		featIdx = append(featIdx, j)
		if col.Type == TypeCategorical {
			for v := range distinct {
				col.Categories = append(col.Categories, v)
			}
			sort.Strings(col.Categories)
		}
		s.Columns = append(s.Columns, col)
	}
	if len(s.Columns) == 0 {
		return nil, fmt.Errorf("%s has no feature columns left besides the label %q", o.Data, o.Label)
	}
	s.Features = featureNames(s.Columns)
	return featIdx, nil
}

// split is the stratified split: each class with at least two rows puts round(n·fraction) of them (at least
// one, and one fewer than all) into the test split.
func split(s *Schema, rows [][]string, perClass map[string][]int, o *PreprocessOptions) (train, test [][]string) {
	rng := rand.New(rand.NewPCG(uint64(o.Seed), 0x6d6c70697065))
	isTest := make([]bool, len(rows))
	for _, c := range s.Classes {
		idx := slices.Clone(perClass[c])
		rng.Shuffle(len(idx), func(a, b int) { idx[a], idx[b] = idx[b], idx[a] })
		n := int(math.Round(float64(len(idx)) * o.TestFraction))
		if len(idx) >= 2 {
			n = max(1, min(n, len(idx)-1))
		} else {
			n = 0
		}
		for _, i := range idx[:n] {
			isTest[i] = true
		}
	}
	for i, rec := range rows {
		if isTest[i] {
			test = append(test, rec)
		} else {
			train = append(train, rec)
		}
	}
	return train, test
}

func countClasses(rows [][]string, labelIdx int) map[string]int {
	n := map[string]int{}
	for _, rec := range rows {
		n[rec[labelIdx]]++
	}
	return n
}

// fitImputation sets each feature column's Fill from the training split only: the median of a numeric column,
// the most frequent value of a categorical one (the lexically first of equally frequent ones), and counts the
// values it fills in both splits.
func fitImputation(s *Schema, featIdx []int, train, test [][]string, log io.Writer) error {
	var fills []string
	for k, j := range featIdx {
		c := &s.Columns[k]
		var present []string
		for _, rec := range train {
			if !isMissing(rec[j]) {
				present = append(present, rec[j])
			}
		}
		if len(present) == 0 {
			return fmt.Errorf("column %q has no value in the training split to impute from: exclude it (--exclude, spec.data.exclude)", c.Name)
		}
		if c.Type == TypeNumeric {
			c.Fill = strconv.FormatFloat(median(present), 'g', -1, 64)
		} else {
			c.Fill = mostFrequent(present)
		}
		for _, rec := range slices.Concat(train, test) {
			if isMissing(rec[j]) {
				c.Imputed++
			}
		}
		if c.Imputed > 0 {
			how := "median"
			if c.Type == TypeCategorical {
				how = "most frequent"
			}
			fills = append(fills, fmt.Sprintf("%q %d× with %s %q", c.Name, c.Imputed, how, c.Fill))
		}
	}
	for _, rec := range slices.Concat(train, test) {
		for _, j := range featIdx {
			if isMissing(rec[j]) {
				s.Counts.Imputed++
				break
			}
		}
	}
	if len(fills) > 0 {
		fmt.Fprintf(log, "imputed missing values in %d rows (fitted on the training split): %s\n", s.Counts.Imputed, strings.Join(fills, ", "))
	}
	return nil
}

// median of numeric strings (the mean of the middle two of an even count).
func median(vals []string) float64 {
	f := make([]float64, len(vals))
	for i, v := range vals {
		f[i], _ = parseNumber(v)
	}
	sort.Float64s(f)
	n := len(f)
	if n%2 == 1 {
		return f[n/2]
	}
	return (f[n/2-1] + f[n/2]) / 2
}

// mostFrequent returns the most frequent value, the lexically first among equally frequent ones.
func mostFrequent(vals []string) string {
	n := map[string]int{}
	for _, v := range vals {
		n[v]++
	}
	best := ""
	for v, c := range n {
		if c > n[best] || c == n[best] && v < best {
			best = v
		}
	}
	return best
}

// fitStandardisation sets each numeric column's mean and population standard deviation (1 when it is 0) from the
// training split only, missing values counted as their Fill.
func fitStandardisation(s *Schema, featIdx []int, train [][]string) error {
	for k, j := range featIdx {
		c := &s.Columns[k]
		if c.Type != TypeNumeric {
			continue
		}
		vals := make([]float64, len(train))
		var sum float64
		for i, rec := range train {
			v, err := c.raw(rec[j])
			if err != nil {
				return err
			}
			vals[i], _ = parseNumber(v)
			sum += vals[i]
		}
		c.Mean = sum / float64(len(train))
		var sq float64
		for _, v := range vals {
			sq += (v - c.Mean) * (v - c.Mean)
		}
		c.Std = math.Sqrt(sq / float64(len(train)))
		if c.Std == 0 {
			c.Std = 1
		}
	}
	return nil
}

// putAll writes the files in order (each atomically); if one fails it deletes those already written, so that a
// failed step leaves no partial artifact set behind.
func putAll(ctx context.Context, s store.Store, files map[string][]byte, order []string) error {
	for i, name := range order {
		if err := s.Put(ctx, name, files[name]); err != nil {
			for _, done := range order[:i] {
				_ = s.Delete(context.WithoutCancel(ctx), done)
			}
			return fmt.Errorf("error writing %s: %w", s.URI(name), err)
		}
	}
	return nil
}

// continuous says whether label values are numbers and some are not whole: a regression target.
func continuous(values []string) bool {
	fractional := false
	for _, v := range values {
		f, ok := parseNumber(v)
		if !ok {
			return false
		}
		if f != math.Trunc(f) {
			fractional = true
		}
	}
	return fractional
}
