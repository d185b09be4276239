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

// Package ml is the ML core of the built-in steps: the dataset format and its schema, the encoding of raw rows
// into features, the model (multinomial logistic regression) and its metrics. The step programs in pkg/steps
// (preprocess, train, evaluate, serve) are short programs over it. It imports no Tekton or Kubernetes package.
//
// # Dataset
//
// A preprocessed dataset is a directory (file:// or s3://) of three files: TrainFile and TestFile, Apache
// Arrow IPC files (the random-access file format), and SchemaFile (Schema as JSON). A split file has two
// columns: FeaturesColumn, FixedSizeList<float32>[len(Schema.Features)], not nullable, and LabelColumn, int32,
// the row's class index into Schema.Classes. Its record batches hold BlockRows rows (the last one fewer); the
// feature values of a batch are one row-major buffer, which a Block widens into its X (a gonum mat.Dense). The
// features are float32, PyTorch's default, because the encode pass is bound by the bytes it writes: float64
// one-hot features were 1.9 times the CSV's size. Schema.Counts.Train and .Test are the files' row counts. The dataset digest (Prepared.Digest,
// DatasetDigest) is sha256 over TrainFile, TestFile and SchemaFile concatenated in that order (DatasetFiles).
//
// OpenSplit opens a split as a Dataset read block by block through io.ReaderAt: a local file in place, an
// s3:// one after streaming it into a temporary file (removed by Close), so memory holds one block.
//
// # Preprocessing
//
// Prepare reads the CSV input (an object, or every object below a prefix ending in "/", in key order, each with
// the same header) once, as a stream, in one goroutine: while lines hold no quote character it splits them
// itself (csvRecords, one scan and one string per line), and from the first quote on encoding/csv reads the rest,
// with the same records and errors (TestCSVRecordsMatchEncodingCSV); a line's text is copied into its chunk's
// reused buffer, which the fields view. Trimming, number parsing, row hashing and vocabulary lookups (in copies
// of the vocabularies the merge publishes as they grow) run in a worker per core, and an ordered merge drops rows
// with missing values and duplicates, learns each column's type and vocabulary and the classes, sums the kept
// rows' statistics, and spills the kept rows into a temporary file (each row's length first, then a decimal as
// its scale, sign and mantissa, another number as float64, values of a column's vocabulary as small codes) with
// each row's class code in a labels file. Then it passes over those files only: the split, decided from the
// labels alone (1 bit per kept row), then the test split's statistics (training rows are skipped by their
// length) and the encoded split files, each decoding the spill file's segments of 4096 rows on every core and
// combining them in segment order, so the result does not depend on the number of cores. Memory is independent of the row count apart from the duplicate table (and the
// split's bit per kept row, 1.25 MB for 10 million rows, held after the table is freed):
//
//   - Duplicates: a 64-bit xxhash of each row's fields in an open-addressing table, 8 bytes a slot at most 3/4
//     full: 10.7–21.3 MB per million distinct rows. Two distinct rows collide with probability about n²/2⁶⁵
//     (3·10⁻⁶ for 10 million rows); a collision drops the later row as a duplicate.
//   - Types come from every row, not a sample: a column is numeric when every present value is a finite
//     number. Each column keeps the first --max-categories distinct texts as its vocabulary; a column that reads
//     as numbers until a later row holds text is therefore categorical with exactly the texts it had (its
//     vocabulary), or, with more distinct values than --max-categories, refused or dropped as an identifier as
//     before, its distinct values counted in one more pass over the spill file.
//   - The split is exact and stratified: each class's test count is round(n·fraction) (at least one, one fewer
//     than all), chosen by selection sampling over the class's rows in input order, deterministic from the seed.
//   - Mean and standard deviation of the training split: each segment's sums of differences from its first
//     value, merged in order with Chan et al.'s pairwise update, over all kept rows (first pass) and over the
//     test split (statistics pass); the training split's are the first less the second (the update undone), a
//     missing value counted as its Fill. The median of --missing=impute is exact for a column with at most
//     --max-categories distinct values or at most 131072 training values, else the median of a uniform sample
//     of 131072 of them; only such a sampled column has the training rows decoded in the statistics pass.
package ml
