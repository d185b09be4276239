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
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/minio/minio-go/v7"

	"github.com/mlpipe/mlpipe/pkg/store/storetest"
)

// TestWriterRoundTrip writes more rows than two blocks hold and reads them back block by block.
func TestWriterRoundTrip(t *testing.T) {
	const rows, d = 2*BlockRows + 5, 3
	path := filepath.Join(t.TempDir(), TrainFile)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewWriter(f, d)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < rows; i++ {
		x, err := w.Add(i % 3)
		if err != nil {
			t.Fatal(err)
		}
		x[0], x[1], x[2] = float32(i), -float32(i)/2, 7
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	s := &Schema{Classes: []string{"a", "b", "c"}, Features: []string{"p", "q", "r"}, Counts: Counts{Train: rows}}
	ds, err := OpenFile(path, path, s)
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	if ds.Len() != rows || ds.Dim() != d || ds.Classes() != 3 || ds.NumBlocks() != 3 {
		t.Fatalf("Len %d Dim %d Classes %d NumBlocks %d, want %d 3 3 3", ds.Len(), ds.Dim(), ds.Classes(), ds.NumBlocks(), rows)
	}
	// Backwards, to show blocks are read in any order.
	for blk := 2; blk >= 0; blk-- {
		b, err := ds.Block(blk)
		if err != nil {
			t.Fatal(err)
		}
		n, _ := b.X.Dims()
		if want := []int{BlockRows, BlockRows, 5}[blk]; n != want || len(b.Y) != want {
			t.Fatalf("block %d has %d rows and %d labels, want %d", blk, n, len(b.Y), want)
		}
		for r := 0; r < n; r++ {
			i := blk*BlockRows + r
			if got := b.X.RawRowView(r); got[0] != float64(i) || got[1] != -float64(i)/2 || got[2] != 7 || b.Y[r] != i%3 {
				t.Fatalf("row %d = %v label %d, want [%d %v 7] label %d", i, got, b.Y[r], i, -float64(i)/2, i%3)
			}
		}
	}
	s.Counts.Train = rows + 1
	other, err := OpenFile(path, path, s)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.Block(2); err == nil || !strings.Contains(err.Error(), "block 2 has 5 rows, want 6") {
		t.Errorf("a schema with another row count: err = %v", err)
	}
}

func writeCSV(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "in.csv")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func prepareCSV(t *testing.T, cfg PrepareConfig) (*Prepared, error) {
	t.Helper()
	if cfg.MaxCategories == 0 {
		cfg.MaxCategories = 50
	}
	if cfg.TestFraction == 0 {
		cfg.TestFraction = 0.25
	}
	p, err := Prepare(context.Background(), cfg, io.Discard)
	if p != nil {
		t.Cleanup(p.Remove)
	}
	return p, err
}

// readSplit returns every row of a split as "features|label" strings.
func readSplit(t *testing.T, p *Prepared, name string) []string {
	t.Helper()
	f, err := OpenFile(p.Path(name), name, p.Schema)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	if err := Each(f, func(b Batch) error {
		for r, y := range b.Y {
			out = append(out, fmt.Sprintf("%v|%s", b.X.RawRowView(r), p.Schema.Classes[y]))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestPrepareDuplicatesHowEverRead: a row is a duplicate of an earlier one with the same fields after
// trimming, whichever reader split it (quote-free lines, encoding/csv after the first quote) and whatever was
// around its fields (spaces, quotes), and only then; an excluded column does not count.
func TestPrepareDuplicatesHowEverRead(t *testing.T) {
	rows := []string{
		"1.5,red,a",      // kept
		" 1.5 ,red,a",    // a duplicate with spaces, on the fast path
		"1.5,red,b",      // kept: another label
		"1.5,re,da",      // kept: the same bytes shifted across a delimiter
		"2.5,blue,b",     // kept
		`"1.5",red,a`,    // a duplicate, quoted: encoding/csv reads from here on
		"2.5,blue,b",     // a duplicate read by encoding/csv
		`2.5,"blue,b",b`, // kept: the delimiter inside a field
		"3.5,blue,a",     // kept
	}
	for _, excluded := range []bool{false, true} {
		var b strings.Builder
		b.WriteString("x,c,y")
		if excluded {
			b.WriteString(",id")
		}
		for i, row := range rows {
			b.WriteString("\n" + row)
			if excluded {
				fmt.Fprintf(&b, ",%d", i)
			}
		}
		cfg := PrepareConfig{Data: writeCSV(t, b.String()+"\n"), Label: "y", Seed: 1, TestFraction: 0.3}
		if excluded {
			cfg.Exclude = []string{"id"}
		}
		p, err := prepareCSV(t, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if c := p.Schema.Counts; c.Input != 9 || c.DroppedDuplicates != 3 || c.Rows != 6 {
			t.Errorf("excluded column %v: counts %+v: want 9 input rows, 3 duplicates, 6 kept", excluded, c)
		}
	}
}

// TestPrepareDedupAndExactSplit: exact duplicates go (the first kept), each class's test share is
// round(n·fraction), and the same seed makes the same split files, another seed another split.
func TestPrepareDedupAndExactSplit(t *testing.T) {
	var b strings.Builder
	b.WriteString("x,y\n")
	for i := 0; i < 300; i++ { // 200 of class a, 100 of b; every row twice
		label := "a"
		if i%3 == 2 {
			label = "b"
		}
		fmt.Fprintf(&b, "%d,%s\n%d,%s\n", i, label, i, label)
	}
	data := writeCSV(t, b.String())
	p, err := prepareCSV(t, PrepareConfig{Data: data, Label: "y", Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	c := p.Schema.Counts
	want := Counts{Input: 600, DroppedDuplicates: 300, Rows: 300, Train: 225, Test: 75,
		PerClass:      map[string]int{"a": 200, "b": 100},
		TrainPerClass: map[string]int{"a": 150, "b": 75},
		TestPerClass:  map[string]int{"a": 50, "b": 25}}
	if d := cmp.Diff(want, c); d != "" {
		t.Errorf("counts (-want +got):\n%s", d)
	}
	test1 := readSplit(t, p, TestFile)
	if len(test1) != 75 || len(readSplit(t, p, TrainFile)) != 225 {
		t.Errorf("split files hold %d test rows, want 75", len(test1))
	}
	again, err := prepareCSV(t, PrepareConfig{Data: data, Label: "y", Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !cmp.Equal(test1, readSplit(t, again, TestFile)) {
		t.Error("the same seed made another test split")
	}
	other, err := prepareCSV(t, PrepareConfig{Data: data, Label: "y", Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	if cmp.Equal(test1, readSplit(t, other, TestFile)) {
		t.Error("seeds 1 and 2 made the same test split")
	}
}

// TestPrepareNumericClasses: classes that are numbers sort numerically (2 before 10), and each row keeps its
// class.
func TestPrepareNumericClasses(t *testing.T) {
	var b strings.Builder
	b.WriteString("x,y\n")
	for i := 0; i < 40; i++ {
		fmt.Fprintf(&b, "%d,%s\n", i, []string{"10", "2", "9"}[i%3])
	}
	p, err := prepareCSV(t, PrepareConfig{Data: writeCSV(t, b.String()), Label: "y"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"2", "9", "10"}; !cmp.Equal(p.Schema.Classes, want) {
		t.Errorf("classes %v, want %v", p.Schema.Classes, want)
	}
	x := p.Schema.Columns[0]
	for _, name := range []string{TrainFile, TestFile} {
		for _, row := range readSplit(t, p, name) {
			var v float64
			var label string
			if _, err := fmt.Sscanf(strings.NewReplacer("[", "", "]", "", "|", " ").Replace(row), "%g %s", &v, &label); err != nil {
				t.Fatal(err)
			}
			i := int(math.Round(v*x.Std + x.Mean))
			if want := []string{"10", "2", "9"}[i%3]; label != want {
				t.Errorf("row x=%d has class %s, want %s", i, label, want)
			}
		}
	}
}

// TestPrepareTypeContradiction: a column that reads as numbers until a later row holds text comes out
// categorical with every value a category; one with more distinct numbers than --max-categories and then a text
// fails; a numeric column whose distinct values outgrow the vocabulary keeps exact statistics.
func TestPrepareTypeContradiction(t *testing.T) {
	var b strings.Builder
	b.WriteString("late,many,wide,y\n")
	var sum, sq float64
	n := 0
	for i := 0; i < 200; i++ {
		late := fmt.Sprint(i % 3)
		if i == 150 {
			late = "x"
		}
		fmt.Fprintf(&b, "%s,%d,%d,%s\n", late, i, i*i, []string{"p", "q"}[i%2])
	}
	data := writeCSV(t, b.String())
	if _, err := prepareCSV(t, PrepareConfig{Data: data, Label: "y", Exclude: []string{"many"}, MaxCategories: 10}); err != nil {
		t.Fatal(err)
	}
	p, err := prepareCSV(t, PrepareConfig{Data: data, Label: "y", Exclude: []string{"many"}, MaxCategories: 10})
	if err != nil {
		t.Fatal(err)
	}
	late := p.Schema.Columns[0]
	if late.Type != TypeCategorical || !cmp.Equal(late.Categories, []string{"0", "1", "2", "x"}) {
		t.Errorf("late = %+v, want categorical 0, 1, 2, x", late)
	}
	// wide is numeric; its statistics are those of the training rows, recomputed here from the split file.
	wide := p.Schema.Columns[1]
	f, err := OpenFile(p.Path(TrainFile), TrainFile, p.Schema)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := Each(f, func(bt Batch) error {
		for r := range bt.Y {
			// Feature 4 (late's 4 categories come first), stored as float32: within 0.01 of the whole square.
			v := bt.X.At(r, 4)*wide.Std + wide.Mean
			if math.Abs(v-math.Round(math.Sqrt(math.Round(v)))*math.Round(math.Sqrt(math.Round(v)))) > 0.01 {
				return fmt.Errorf("train row %d: wide %v is not a square", r, v)
			}
			v = math.Round(v)
			sum += v
			sq += v * v
			n++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	mean := sum / float64(n)
	if math.Abs(mean-wide.Mean) > 1e-6*wide.Mean || math.Abs(math.Sqrt(sq/float64(n)-mean*mean)-wide.Std) > 1e-6*wide.Std {
		t.Errorf("wide mean/std %v/%v, the training rows' %v/%v", wide.Mean, wide.Std, mean, math.Sqrt(sq/float64(n)-mean*mean))
	}
	// many: numbers past the vocabulary, then a text in row 151: an identifier (every row different) is dropped.
	text := strings.Replace(b.String(), "\n1,151,", "\n1,text,", 1)
	p, err = prepareCSV(t, PrepareConfig{Data: writeCSV(t, text), Label: "y", Exclude: []string{"late"}, MaxCategories: 10})
	if err != nil {
		t.Fatal(err)
	}
	if want := []DroppedColumn{{Name: "late", Reason: "excluded"}, {Name: "many", Reason: "identifier"}}; !cmp.Equal(p.Schema.DroppedColumns, want) {
		t.Errorf("dropped columns %v, want %v", p.Schema.DroppedColumns, want)
	}
	// The same text in row 152 too: 199 distinct values in 200 rows, too many to one-hot encode.
	text = strings.Replace(text, "\n2,152,", "\n2,text,", 1)
	_, err = prepareCSV(t, PrepareConfig{Data: writeCSV(t, text), Label: "y", Exclude: []string{"late"}, MaxCategories: 10})
	want := `column "many" is not numeric and has 199 distinct values (more than --max-categories=10): it cannot be one-hot encoded; exclude it (--exclude, spec.data.exclude), bin it, or raise --max-categories`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant  %s", err, want)
	}
}

// TestMedianAndMostFrequent: the median of an even count is the mean of the middle two, from the vocabulary's
// counts or from the sample; equally frequent categories go to the lexically first.
func TestMedianAndMostFrequent(t *testing.T) {
	c := &column{numbers: []float64{10, 1, 4, 3}}
	if got := medianOf(c, &stats{codeCounts: []int{1, 1, 1, 1}}); got != 3.5 {
		t.Errorf("median of 10, 1, 4, 3 = %v, want 3.5", got)
	}
	if got := medianOf(c, &stats{codeCounts: []int{0, 3, 1, 1}}); got != 1 {
		t.Errorf("median of 1, 1, 1, 4, 3 = %v, want 1", got)
	}
	if got := medianOf(&column{full: true}, &stats{sample: []float64{5, -1, 2}}); got != 2 {
		t.Errorf("median of the sample 5, -1, 2 = %v, want 2", got)
	}
	if got := mostFrequent([]string{"y", "x", "z"}, []int{2, 2, 1}); got != "x" {
		t.Errorf("most frequent of y×2, x×2, z = %q, want x", got)
	}
}

// TestPrepareS3Prefix reads every object below an s3:// prefix in key order, as one table; the source digest
// is that of the objects' bytes concatenated.
func TestPrepareS3Prefix(t *testing.T) {
	m := storetest.Start(t)
	m.SetEnv(t)
	m.MakeBucket(t, "input")
	parts := map[string]string{"d/part-1.csv": "x,y\n1,a\n2,b\n3,a\n4,b\n", "d/part-2.csv": "x,y\n5,a\n6,b\n7,a\n8,b\n"}
	for key, text := range parts {
		if _, err := m.Client.PutObject(context.Background(), "input", key, bytes.NewReader([]byte(text)), int64(len(text)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	p, err := prepareCSV(t, PrepareConfig{Data: "s3://input/d/", Label: "y", TestFraction: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	if c := p.Schema.Counts; c.Input != 8 || c.Train != 4 || c.Test != 4 {
		t.Errorf("counts = %+v, want 8 rows, 4 + 4", c)
	}
	sum := sha256.Sum256([]byte(parts["d/part-1.csv"] + parts["d/part-2.csv"]))
	if want := fmt.Sprintf("sha256:%x", sum); p.Schema.Source.Digest != want {
		t.Errorf("source digest %s, want %s", p.Schema.Source.Digest, want)
	}
	bad := "x,z\n9,a\n"
	if _, err := m.Client.PutObject(context.Background(), "input", "d/part-3.csv", bytes.NewReader([]byte(bad)), int64(len(bad)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := prepareCSV(t, PrepareConfig{Data: "s3://input/d/", Label: "y"}); err == nil || !strings.Contains(err.Error(), `s3://input/d/part-3.csv: header "x", "z" differs`) {
		t.Errorf("an object with another header: err = %v", err)
	}
}

// TestCheckedReader: a NUL byte far into the input (after the first buffer) is binary content.
func TestCheckedReader(t *testing.T) {
	text := "x,y\n" + strings.Repeat("1,a\n2,b\n", 300_000) + "3,\x00\n"
	_, err := prepareCSV(t, PrepareConfig{Data: writeCSV(t, text), Label: "y"})
	if err == nil || !strings.Contains(err.Error(), "holds binary (non-UTF-8) content") {
		t.Errorf("err = %v, want binary content", err)
	}
	_, err = prepareCSV(t, PrepareConfig{Data: writeCSV(t, "x,y\n1,é\n2,ü\n3,é\n4,ü\n"), Label: "y", TestFraction: 0.5})
	if err != nil {
		t.Errorf("UTF-8 text: %v", err)
	}
}

// segmentedCSV is a CSV of n rows spanning several spill segments: a unique id, a numeric column with missing
// values and many distinct values (the median sample's case under --missing=impute), a categorical column and
// the label.
func segmentedCSV(n int) string {
	var b strings.Builder
	b.WriteString("id,v,w,k,c,y\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "%d,%s,%s,%s,%s,%s\n", i, segmentedV(i), segmentedW(i), segmentedK(i), []string{"red", "green", "blue"}[i%3], []string{"a", "b", "c", "d"}[i*i%4])
	}
	return b.String()
}

// segmentedV is row i's v: missing in every 97th row.
func segmentedV(i int) string {
	if i%97 == 0 {
		return ""
	}
	return fmt.Sprintf("%.3f", math.Sin(float64(i))*1000+float64(i%7))
}

// segmentedK is row i's k: one of five numbers, all in the column's vocabulary.
func segmentedK(i int) string { return fmt.Sprintf("%.1f", float64(i*i%5)+0.5) }

// segmentedW is row i's w: a million plus a small variation, whose variance a naive sum of squares loses.
func segmentedW(i int) string { return fmt.Sprintf("%.4f", 1e6+3*math.Cos(float64(i))) }

// TestPrepareSameOnAnyCores: the passes over the spill run on every core, and the dataset (files, schema and
// digest) is the same byte for byte with one core, two or three.
func TestPrepareSameOnAnyCores(t *testing.T) {
	data := writeCSV(t, segmentedCSV(5*segmentRows+123))
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	var want string
	for _, procs := range []int{1, 2, 3} {
		runtime.GOMAXPROCS(procs)
		p, err := prepareCSV(t, PrepareConfig{Data: data, Label: "y", Seed: 3, Impute: true})
		if err != nil {
			t.Fatal(err)
		}
		schema, err := json.Marshal(p.Schema)
		if err != nil {
			t.Fatal(err)
		}
		digest, err := p.Digest(schema)
		if err != nil {
			t.Fatal(err)
		}
		got := digest + "\n" + string(schema)
		if procs == 1 {
			want = got
		} else if got != want {
			t.Errorf("GOMAXPROCS=%d made another dataset:\n%s\nwant\n%s", procs, got, want)
		}
	}
}

// TestPrepareStatisticsAcrossSegments: the training statistics (the kept rows' from the first pass less the
// test split's, each merged from segments) equal a direct two-pass computation over the training rows, found by
// their ids in the train split; with --missing=impute the missing values count as the Fill.
func TestPrepareStatisticsAcrossSegments(t *testing.T) {
	n := 4*segmentRows + 777
	data := writeCSV(t, segmentedCSV(n))
	for _, impute := range []bool{false, true} {
		t.Run(fmt.Sprintf("impute=%v", impute), func(t *testing.T) { statisticsAcrossSegments(t, data, impute) })
	}
}

func statisticsAcrossSegments(t *testing.T, data string, impute bool) {
	p, err := prepareCSV(t, PrepareConfig{Data: data, Label: "y", Seed: 5, Impute: impute})
	if err != nil {
		t.Fatal(err)
	}
	col := func(name string) *Column {
		for i := range p.Schema.Columns {
			if p.Schema.Columns[i].Name == name {
				return &p.Schema.Columns[i]
			}
		}
		t.Fatalf("no column %q", name)
		return nil
	}
	id, v, w, k := col("id"), col("v"), col("w"), col("k")
	f, err := OpenFile(p.Path(TrainFile), TrainFile, p.Schema)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ids, vs, ws, ks []float64
	if err := Each(f, func(b Batch) error {
		for r := range b.Y {
			raw := b.X.At(r, 0)*id.Std + id.Mean // stored as float32: within 0.01 of the whole id
			i := math.Round(raw)
			if math.Abs(raw-i) > 0.01 {
				return fmt.Errorf("train row %d decodes to id %v, not a whole number", len(ids), raw)
			}
			ids = append(ids, i)
			if text := segmentedV(int(i)); text != "" || impute {
				if text == "" {
					text = v.Fill
				}
				x, _ := strconv.ParseFloat(text, 64)
				vs = append(vs, x)
			}
			x, _ := strconv.ParseFloat(segmentedW(int(i)), 64)
			ws = append(ws, x)
			x, _ = strconv.ParseFloat(segmentedK(int(i)), 64)
			ks = append(ks, x)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(ids) != p.Schema.Counts.Train {
		t.Fatalf("%d train rows, schema says %d", len(ids), p.Schema.Counts.Train)
	}
	for _, c := range []struct {
		col  *Column
		vals []float64
	}{{id, ids}, {v, vs}, {w, ws}, {k, ks}} {
		var mean, ss float64
		for _, x := range c.vals {
			mean += x
		}
		mean /= float64(len(c.vals))
		for _, x := range c.vals {
			ss += (x - mean) * (x - mean)
		}
		std := math.Sqrt(ss / float64(len(c.vals)))
		if math.Abs(c.col.Mean-mean) > 1e-9*math.Max(1, math.Abs(mean)) || math.Abs(c.col.Std-std) > 1e-9*std {
			t.Errorf("column %s: mean %v std %v, direct %v %v", c.col.Name, c.col.Mean, c.col.Std, mean, std)
		}
	}
}

// TestPrepareColumnWithNoValue: with --missing=impute, a feature column missing in every row is refused, named.
func TestPrepareColumnWithNoValue(t *testing.T) {
	data := writeCSV(t, "x,empty,y\n1,,a\n2,NA,b\n3,,a\n4,,b\n")
	_, err := prepareCSV(t, PrepareConfig{Data: data, Label: "y", Seed: 1, Impute: true, TestFraction: 0.5})
	if err == nil || !strings.Contains(err.Error(), `column "empty" has no value in any row`) {
		t.Fatalf("got %v, want the empty column refused", err)
	}
}
