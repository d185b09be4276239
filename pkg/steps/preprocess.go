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
	"strconv"

	"github.com/spf13/cobra"

	"github.com/mlpipe/mlpipe/pkg/dataopts"
	"github.com/mlpipe/mlpipe/pkg/ml"
	"github.com/mlpipe/mlpipe/pkg/store"
)

// PreprocessOptions are the flags of `step preprocess`.
type PreprocessOptions struct {
	// Data is the URI of the input CSV.
	Data string
	// Label is the name of the label column.
	Label string
	// Out is the URI of the output directory (train.arrow, test.arrow, schema.json).
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
	Schema *ml.Schema
	// URI is the output directory's URI.
	URI string
	// Digest is the dataset digest: sha256 of train.arrow, test.arrow and schema.json, concatenated in that order.
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
			"(statistics fitted on the training split), and writes <out>/train.arrow, <out>/test.arrow (Apache Arrow IPC files) and <out>/schema.json\n" +
			"after a stratified split; it warns when the test split has fewer than 30 rows or lacks a class.\n" +
			"Results: dataset-uri, dataset-digest, rows, dropped-rows.",
		Args: cobra.NoArgs,
	}
	cmd.Flags().StringVar(&o.Data, "data", "", "URI of the input CSV (file:///path, path or s3://bucket/key; ending in / for every object below a prefix, in key order)")
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

// Preprocess runs the preprocess step and logs progress to log: ml.Prepare writes the splits into a temporary
// directory, then they and schema.json are stored under --out.
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
	out, err := store.Open(ctx, o.Out)
	if err != nil {
		return nil, fmt.Errorf("invalid --out: %w", err)
	}
	u := startUsage("preprocess", log)
	prep, err := ml.Prepare(ctx, ml.PrepareConfig{
		Data: o.Data, Label: o.Label, TestFraction: o.TestFraction, Seed: o.Seed,
		MaxCategories: o.MaxCategories, MaxClasses: o.MaxClasses, Exclude: o.Exclude, Delimiter: delim,
		Impute: o.Missing == dataopts.MissingImpute, Progress: u.progress,
	}, log)
	if err != nil {
		return nil, err
	}
	defer prep.Remove()
	s := prep.Schema
	schemaData, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, err
	}
	digest, err := prep.Digest(schemaData)
	if err != nil {
		return nil, err
	}
	if err := putDataset(ctx, out, prep, schemaData); err != nil {
		return nil, err
	}
	p := &Preprocessed{Schema: s, URI: out.URI(""), Digest: digest}
	fmt.Fprintf(log, "wrote %s: %d features, classes %v, train %d rows, test %d rows\n",
		p.URI, len(s.Features), s.Classes, s.Counts.Train, s.Counts.Test)
	p.Warnings = splitWarnings(s.Classes, s.Counts.TestPerClass)
	for _, w := range p.Warnings {
		fmt.Fprintf(log, "warning: %s\n", w)
	}
	u.done(s.Counts.Input)
	return p, nil
}

// putDataset stores the split files and schema.json (each atomically); if one fails it deletes those already
// written, so that a failed step leaves no partial artifact set behind.
func putDataset(ctx context.Context, s store.Store, prep *ml.Prepared, schemaData []byte) error {
	for i, name := range ml.DatasetFiles {
		var err error
		if name == ml.SchemaFile {
			err = s.Put(ctx, name, schemaData)
		} else {
			err = s.PutFile(ctx, name, prep.Path(name))
		}
		if err != nil {
			for _, done := range ml.DatasetFiles[:i] {
				_ = s.Delete(context.WithoutCancel(ctx), done)
			}
			return fmt.Errorf("error writing %s: %w", s.URI(name), err)
		}
	}
	return nil
}
