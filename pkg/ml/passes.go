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
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/cespare/xxhash/v2"
)

// medianSample bounds the values kept per numeric column for its median (--missing=impute): the median is exact
// for a column with at most MaxCategories distinct values or at most medianSample training values, else the
// median of a uniform sample of medianSample of them (reservoir sampling, deterministic from the seed).
const medianSample = 1 << 17

// spillReader decodes the spill file from a buffer that always holds a whole row once one is asked for.
type spillReader struct {
	f      io.Reader
	buf    []byte
	lo, hi int // the undecoded bytes buf[lo:hi]
	eof    bool
	err    error
}

// maxRowBytes bounds a spilled row of n feature columns: its length, a label code and n tags with their
// payloads.
func maxRowBytes(n int) int { return binary.MaxVarintLen64*(n+2) + 8*n }

func newSpillReader(f *os.File) (*spillReader, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return &spillReader{f: f, buf: make([]byte, 1<<20)}, nil
}

// reset starts reading f.
func (r *spillReader) reset(f io.Reader) {
	r.f, r.lo, r.hi, r.eof, r.err = f, 0, 0, false, nil
}

// row makes sure a whole row of n feature columns is buffered (or the file's rest).
func (r *spillReader) row(n int) {
	if r.hi-r.lo >= maxRowBytes(n) || r.eof {
		return
	}
	copy(r.buf, r.buf[r.lo:r.hi])
	r.hi -= r.lo
	r.lo = 0
	for r.hi < len(r.buf) && !r.eof {
		k, err := r.f.Read(r.buf[r.hi:])
		r.hi += k
		if err == io.EOF {
			r.eof = true
		} else if err != nil {
			r.fail(err)
			return
		}
	}
}

func (r *spillReader) fail(err error) {
	if r.err == nil {
		r.err = fmt.Errorf("error reading the spill file: %w", err)
	}
	r.lo, r.hi = 0, 0
}

// decodeRow reads the next row of len(tags) feature columns: it returns the row's class code and sets each
// column's tag and, for tagNumber and tagText, its 8-byte payload; a decimal comes back as tagNumber with its
// float64's bits. The row is decoded from a local copy of the buffer's bounds, with the one-byte tags and
// codes (nearly all) read inline.
func (r *spillReader) decodeRow(tags, payloads []uint64) (class uint64) {
	r.row(len(tags))
	b, i := r.buf[:r.hi], r.lo
	_, i = uvarintAt(b, i) // the row's length
	class, i = uvarintAt(b, i)
	for k := range tags {
		var tag, payload uint64
		if i < len(b) && b[i] < 0x80 { // nearly every tag
			tag = uint64(b[i])
			i++
		} else {
			tag, i = uvarintAt(b, i)
		}
		switch {
		case tag >= tagCode || tag == tagMissing:
		case tag >= tagDecimal: // a decimal reads as the number it is
			var mant uint64
			mant, i = uvarintAt(b, i)
			d := decimal{mant: mant, scale: uint8((tag - tagDecimal) / 2), neg: (tag-tagDecimal)%2 == 1}
			tag, payload = tagNumber, math.Float64bits(d.value())
		case i+8 <= len(b): // tagNumber, tagText
			payload = binary.LittleEndian.Uint64(b[i:])
			i += 8
		default:
			i = len(b) + 1
		}
		tags[k], payloads[k] = tag, payload
	}
	if i > len(b) {
		r.fail(io.ErrUnexpectedEOF)
		clear(tags)
		return 0
	}
	r.lo = i
	return class
}

// skipRow passes over the next row of n feature columns.
func (r *spillReader) skipRow(n int) {
	r.row(n)
	b := r.buf[:r.hi]
	length, i := uvarintAt(b, r.lo)
	if i += int(length); i > len(b) {
		r.fail(io.ErrUnexpectedEOF)
		return
	}
	r.lo = i
}

// uvarintAt decodes the uvarint at b[i:] and returns the index after it; past the end of b it returns
// len(b)+1, and so does every call after it. Up to three bytes (a tag, a code, a mantissa below 2²¹) are
// decoded unrolled.
func uvarintAt(b []byte, i int) (uint64, int) {
	if i+2 < len(b) {
		b0 := uint64(b[i])
		if b0 < 0x80 {
			return b0, i + 1
		}
		b1 := uint64(b[i+1])
		if b1 < 0x80 {
			return b0&0x7f | b1<<7, i + 2
		}
		if b2 := uint64(b[i+2]); b2 < 0x80 {
			return b0&0x7f | (b1&0x7f)<<7 | b2<<14, i + 3
		}
	}
	if i >= len(b) {
		return 0, len(b) + 1
	}
	v, k := binary.Uvarint(b[i:])
	if k <= 0 {
		return 0, len(b) + 1
	}
	return v, i + k
}

// splitter decides per row, in spill order, whether it goes to the test split: selection sampling (Knuth's
// algorithm S) within each class, so that exactly need[c] of the left[c] rows of class c are chosen, each
// subset equally likely, deterministically from the seed.
type splitter struct {
	rng        *rand.Rand
	left, need []int
}

func newSplitter(seed int64, perClass, test []int) *splitter {
	return &splitter{rng: rand.New(rand.NewPCG(uint64(seed), 0x6d6c70697065)), left: append([]int(nil), perClass...), need: append([]int(nil), test...)}
}

func (s *splitter) test(c int) bool {
	t := s.rng.IntN(s.left[c]) < s.need[c]
	s.left[c]--
	if t {
		s.need[c]--
	}
	return t
}

// testCount is the stratified split's rule: a class with at least two rows puts round(n·fraction) of them (at
// least one, and one fewer than all) into the test split.
func testCount(n int, fraction float64) int {
	if n < 2 {
		return 0
	}
	return max(1, min(int(math.Round(float64(n)*fraction)), n-1))
}

// stats are a feature column's statistics over a set of rows: all kept rows, the test split or the training
// split.
type stats struct {
	n, missing int // present and missing values
	mean, m2   float64
	// A segment adds its values as sums of their differences from its first value (no division per value);
	// merge turns them into the mean and m2.
	shift, sum, sumSquares float64
	codeCounts             []int // training rows per vocabulary entry
	sample                 []float64
	seen                   int // values offered to the sample
	imputed                int // missing values in both splits
	sampleRandom           *rand.Rand
}

func (st *stats) addNumber(f float64) {
	if st.n == 0 {
		st.shift = f
	}
	st.n++
	d := f - st.shift
	st.sum += d
	st.sumSquares += d * d
}

func (st *stats) offer(f float64) {
	st.seen++
	if len(st.sample) < medianSample {
		st.sample = append(st.sample, f)
	} else if j := st.sampleRandom.IntN(st.seen); j < medianSample {
		st.sample[j] = f
	}
}

// finish runs the passes over the spill file: the classes and column types are settled, then the split and
// the training statistics, then the encoded splits are written.
func finish(ctx context.Context, cfg PrepareConfig, s *Schema, st *state, sp *os.File, p *Prepared, log io.Writer) error {
	what := "with missing values"
	if cfg.Impute {
		what = "with a missing label"
	}
	fmt.Fprintf(log, "read %d rows from %s; dropped %d %s and %d duplicates; %d left\n",
		s.Counts.Input, cfg.Data, s.Counts.DroppedMissing, what, s.Counts.DroppedDuplicates, st.kept)
	if st.kept == 0 {
		return fmt.Errorf("no rows left in %s: all %d rows have missing values or are duplicates", cfg.Data, s.Counts.Input)
	}
	classIdx, err := settleClasses(s, st, cfg)
	if err != nil {
		return err
	}
	used, err := settleColumns(s, st, sp, cfg, log)
	if err != nil {
		return err
	}
	k := len(s.Classes)
	perClass, test := make([]int, k), make([]int, k)
	for code, n := range st.classes.counts {
		perClass[classIdx[code]] = n
	}
	s.Counts.PerClass = map[string]int{}
	s.Counts.TrainPerClass = map[string]int{}
	s.Counts.TestPerClass = map[string]int{}
	for c, n := range perClass {
		test[c] = testCount(n, cfg.TestFraction)
		s.Counts.PerClass[s.Classes[c]] = n
		s.Counts.Test += test[c]
		if n > test[c] { // a split records the classes it has
			s.Counts.TrainPerClass[s.Classes[c]] = n - test[c]
		}
		if test[c] > 0 {
			s.Counts.TestPerClass[s.Classes[c]] = test[c]
		}
	}
	if s.Counts.Test == 0 {
		return fmt.Errorf("the test split is empty: %d rows with --test-fraction=%v", st.kept, cfg.TestFraction)
	}
	s.Counts.Rows = st.kept
	s.Counts.Train = st.kept - s.Counts.Test
	testRows, err := decideSplit(st, classIdx, newSplitter(cfg.Seed, perClass, test))
	if err != nil {
		return err
	}
	if err := fitStatistics(ctx, s, st, sp, used, testRows, cfg, log); err != nil {
		return err
	}
	return writeSplits(ctx, s, st, sp, used, classIdx, testRows, p)
}

// settleClasses sorts the classes into s, checks their number, and maps class codes to class indices.
func settleClasses(s *Schema, st *state, cfg PrepareConfig) ([]int, error) {
	cl := st.classes
	names := append([]string(nil), cl.names...)
	SortClasses(names)
	if cfg.MaxClasses > 0 && cl.distinct() > cfg.MaxClasses {
		hint := "raise --max-classes if that many classes are meant"
		if cl.numbers && cl.fraction {
			low := append(append([]string(nil), names...), cl.smallest...)
			SortClasses(low)
			hint = fmt.Sprintf("its values look continuous (%s, %s, …): mlpipe trains a classifier, so bin the target into classes first", low[0], low[1])
		}
		return nil, fmt.Errorf("label column %q has %d distinct values in %d rows (more than --max-classes=%d): %s",
			cfg.Label, cl.distinct(), st.kept, cfg.MaxClasses, hint)
	}
	if len(names) < 2 {
		return nil, fmt.Errorf("label column %q has only one class (%q) after cleaning: a classifier needs at least two", cfg.Label, names[0])
	}
	s.Classes = names
	at := make(map[string]int, len(names))
	for i, name := range names {
		at[name] = i
	}
	idx := make([]int, len(cl.names))
	for code, name := range cl.names {
		idx[code] = at[name]
	}
	return idx, nil
}

// settleColumns decides each feature column's type and vocabulary (an identifier column is dropped), records
// them in s and returns the indices (into st.cols) of the columns kept, in order.
func settleColumns(s *Schema, st *state, sp *os.File, cfg PrepareConfig, log io.Writer) ([]int, error) {
	var overflowing []int
	for i, c := range st.cols {
		if !c.numeric && c.full {
			overflowing = append(overflowing, i)
		}
	}
	distinct, err := countDistinct(st, sp, overflowing)
	if err != nil {
		return nil, err
	}
	var used []int
	for i, c := range st.cols {
		if c.kept.missing == st.kept { // no present value
			return nil, fmt.Errorf("column %q has no value in any row: exclude it (--exclude, spec.data.exclude)", c.name)
		}
		col := Column{Name: c.name, Type: TypeNumeric}
		if !c.numeric {
			col.Type = TypeCategorical
		}
		if n, ok := distinct[i]; ok {
			if n == st.kept {
				// A different text in every row (an ID, a free-text note): one-hot
				// codes would each match one training row and none at inference.
				fmt.Fprintf(log, "dropped column %q: its %d rows all hold different text (an identifier or free text), which cannot generalise\n", c.name, st.kept)
				s.DroppedColumns = append(s.DroppedColumns, DroppedColumn{Name: c.name, Reason: "identifier"})
				continue
			}
			return nil, fmt.Errorf("column %q is not numeric and has %d distinct values (more than --max-categories=%d): "+
				"it cannot be one-hot encoded; exclude it (--exclude, spec.data.exclude), bin it, or raise --max-categories", c.name, n, cfg.MaxCategories)
		}
		if col.Type == TypeCategorical {
			col.Categories = append([]string(nil), c.texts...)
			sort.Strings(col.Categories)
		}
		used = append(used, i)
		s.Columns = append(s.Columns, col)
	}
	if len(s.Columns) == 0 {
		return nil, fmt.Errorf("%s has no feature columns left besides the label %q", cfg.Data, cfg.Label)
	}
	s.Features = FeatureNames(s.Columns)
	return used, nil
}

// countDistinct counts the distinct present values of the given columns (categorical ones with more values than
// --max-categories, the error and identifier case) in a pass over the spill file, with a hash set each.
// Values are told apart by their text, except that a number seen after the vocabulary filled is told apart by
// its value.
func countDistinct(st *state, sp *os.File, cols []int) (map[int]int, error) {
	if len(cols) == 0 {
		return nil, nil
	}
	sets := map[int]*rowSet{}
	for _, i := range cols {
		sets[i] = newRowSet()
	}
	r, err := newSpillReader(sp)
	if err != nil {
		return nil, err
	}
	tags, payloads := make([]uint64, len(st.cols)), make([]uint64, len(st.cols))
	for row := 0; row < st.kept; row++ {
		r.decodeRow(tags, payloads)
		for i, c := range st.cols {
			tag, payload := tags[i], payloads[i]
			set := sets[i]
			if set == nil || tag == tagMissing {
				continue
			}
			switch {
			case tag == tagNumber:
				set.add(mix(payload))
			case tag == tagText:
				set.add(payload)
			default:
				set.add(xxhash.Sum64String(c.texts[tag-tagCode]))
			}
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	n := map[int]int{}
	for i, set := range sets {
		n[i] = set.n
		set.free()
	}
	return n, nil
}

// fitStatistics computes, from the training split only, each numeric column's mean and standard deviation and,
// with imputation, each column's Fill (missing values counted as their Fill in the statistics). The first pass
// gathered the statistics of all kept rows (column.kept); this pass decodes only the test split's rows and
// takes their statistics away from those (stats.without). Only a column that needs a sample of its training
// values for its median (--missing=impute, numeric, more distinct values than the vocabulary holds) has the
// training rows decoded as well, for that sample, offered in row order.
func fitStatistics(ctx context.Context, s *Schema, st *state, sp *os.File, used []int, testRows testRows, cfg PrepareConfig, log io.Writer) error {
	test := make([]*stats, len(st.cols)) // the test split's statistics, merged from its segments in order
	for _, i := range used {
		test[i] = &stats{codeCounts: make([]int, len(st.cols[i].texts)), sampleRandom: rand.New(rand.NewPCG(uint64(cfg.Seed), uint64(i)))}
	}
	sampled, sampling := make([]bool, len(st.cols)), false
	for _, i := range used {
		sampled[i] = cfg.Impute && st.cols[i].numeric && st.cols[i].full
		sampling = sampling || sampled[i]
	}
	newSeg := func() *segmentStats {
		seg := &segmentStats{cols: make([]*stats, len(st.cols)), tags: make([]uint64, len(st.cols)), payloads: make([]uint64, len(st.cols))}
		for _, i := range used {
			seg.cols[i] = &stats{codeCounts: make([]int, len(st.cols[i].texts))}
		}
		return seg
	}
	work := func(r *spillReader, first, rows int, seg *segmentStats) {
		seg.reset()
		for row := first; row < first+rows; row++ {
			isTest := testRows.has(row)
			if !isTest && !sampling {
				r.skipRow(len(st.cols))
				continue
			}
			r.decodeRow(seg.tags, seg.payloads)
			for i, c := range st.cols {
				tag, payload := seg.tags[i], seg.payloads[i]
				x := seg.cols[i]
				if x == nil || !isTest && !sampled[i] {
					continue
				}
				if tag == tagMissing {
					if isTest {
						x.missing++
					}
					continue
				}
				f := math.Float64frombits(payload)
				if tag >= tagCode {
					f = c.numbers[tag-tagCode]
				}
				if !isTest { // a training value for the sample
					x.sample = append(x.sample, f)
					continue
				}
				if tag >= tagCode {
					x.codeCounts[tag-tagCode]++
				}
				if c.numeric {
					x.addNumber(f)
				}
			}
		}
	}
	err := eachSegment(ctx, st, sp, newSeg, work, func(seg *segmentStats) error {
		for _, i := range used {
			test[i].merge(seg.cols[i])
			for _, f := range seg.cols[i].sample {
				test[i].offer(f)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	cs := make([]*stats, len(st.cols)) // the training split's
	for _, i := range used {
		cs[i] = st.cols[i].kept.without(test[i])
		cs[i].imputed = st.cols[i].kept.missing
		cs[i].sample = test[i].sample
	}
	s.Counts.Imputed = st.imputedRows
	var fills []string
	for k, i := range used {
		c, col, x := st.cols[i], &s.Columns[k], cs[i]
		if cfg.Impute {
			if x.n == 0 && (col.Type == TypeNumeric || sum(x.codeCounts) == 0) {
				return fmt.Errorf("column %q has no value in the training split to impute from: exclude it (--exclude, spec.data.exclude)", col.Name)
			}
			if col.Type == TypeNumeric {
				col.Fill = strconv.FormatFloat(medianOf(c, x), 'g', -1, 64)
			} else {
				col.Fill = mostFrequent(c.texts, x.codeCounts)
			}
			col.Imputed = x.imputed
			if col.Imputed > 0 {
				how := "median"
				if col.Type == TypeCategorical {
					how = "most frequent"
				}
				fills = append(fills, fmt.Sprintf("%q %d× with %s %q", col.Name, col.Imputed, how, col.Fill))
			}
		}
		if col.Type != TypeNumeric {
			continue
		}
		n, mean, m2 := float64(x.n), x.mean, x.m2
		if x.missing > 0 { // the missing values count as Fill: a group of x.missing equal values joins
			f, _ := ParseNumber(col.Fill)
			m := float64(x.missing)
			m2 += n * m / (n + m) * (mean - f) * (mean - f)
			mean = (n*mean + m*f) / (n + m)
			n += m
		}
		col.Mean = mean
		col.Std = math.Sqrt(m2 / n)
		if col.Std == 0 {
			col.Std = 1
		}
	}
	if !cfg.Impute {
		s.Counts.Imputed = 0
	}
	if len(fills) > 0 {
		fmt.Fprintf(log, "imputed missing values in %d rows (fitted on the training split): %s\n", s.Counts.Imputed, strings.Join(fills, ", "))
	}
	return nil
}

func sum(v []int) int {
	t := 0
	for _, x := range v {
		t += x
	}
	return t
}

// segmentStats are one segment's test-split statistics: per feature column (nil for unused ones), with the
// training values offered to the median sample in sample.
type segmentStats struct {
	cols           []*stats
	tags, payloads []uint64 // a row's values (spillReader.decodeRow)
}

func (seg *segmentStats) reset() {
	for _, x := range seg.cols {
		if x != nil {
			x.reset()
		}
	}
}

// medianOf is the training split's median of a numeric column (the mean of the middle two of an even count):
// from the vocabulary's counts, else from the sample.
func medianOf(c *column, x *stats) float64 {
	if c.full {
		vals := append([]float64(nil), x.sample...)
		sort.Float64s(vals)
		n := len(vals)
		if n%2 == 1 {
			return vals[n/2]
		}
		return (vals[n/2-1] + vals[n/2]) / 2
	}
	order := make([]int, len(c.numbers))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return c.numbers[order[a]] < c.numbers[order[b]] })
	n := sum(x.codeCounts)
	// at returns the value of rank r (0-based) in sorted order.
	at := func(r int) float64 {
		for _, code := range order {
			if r < x.codeCounts[code] {
				return c.numbers[code]
			}
			r -= x.codeCounts[code]
		}
		return math.NaN()
	}
	if n%2 == 1 {
		return at(n / 2)
	}
	return (at(n/2-1) + at(n/2)) / 2
}

// writeSplits encodes every kept row into the train or test split file: the segments are decoded and encoded
// in parallel and written in order.
func writeSplits(ctx context.Context, s *Schema, st *state, sp *os.File, used []int, classIdx []int, testRows testRows, p *Prepared) error {
	names := [2]string{TrainFile, TestFile}
	var files [2]*os.File
	var writers [2]*Writer
	var bufs [2]*bufio.Writer
	d := len(s.Features)
	for t, name := range names {
		f, err := os.Create(p.Path(name))
		if err != nil {
			return err
		}
		defer f.Close()
		files[t] = f
		bufs[t] = bufio.NewWriterSize(f, 1<<20)
		var w io.Writer = bufs[t]
		if name == TrainFile { // hashed on its Writer's goroutine as it is written (Prepared.Digest)
			p.trainHash = sha256.New()
			w = io.MultiWriter(bufs[t], p.trainHash)
		}
		if writers[t], err = NewWriter(w, d); err != nil {
			return err
		}
		defer writers[t].Close() // ends its goroutine on an early return
	}
	enc := newEncoder(s, st, used)
	work := func(r *spillReader, first, rows int, seg *encodedSegment) {
		tags, payloads := seg.tags, seg.payloads
		for t := range seg.x {
			seg.x[t], seg.y[t] = seg.x[t][:0], seg.y[t][:0]
		}
		for row := first; row < first+rows; row++ {
			class := classIdx[r.decodeRow(tags, payloads)]
			if r.err != nil {
				return
			}
			t := 0
			if testRows.has(row) {
				t = 1
			}
			seg.y[t] = append(seg.y[t], int32(class))
			n := len(seg.x[t])
			seg.x[t] = slices.Grow(seg.x[t], d)[:n+d]
			enc.encode(tags, payloads, seg.x[t][n:])
		}
	}
	newSeg := func() *encodedSegment {
		return &encodedSegment{tags: make([]uint64, len(st.cols)), payloads: make([]uint64, len(st.cols))}
	}
	err := eachSegment(ctx, st, sp, newSeg, work, func(seg *encodedSegment) error {
		for t, w := range writers {
			for k, class := range seg.y[t] {
				dst, err := w.Add(int(class))
				if err != nil {
					return fmt.Errorf("error writing %s: %w", names[t], err)
				}
				copy(dst, seg.x[t][k*d:(k+1)*d])
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for t, name := range names {
		if err := writers[t].Close(); err != nil {
			return fmt.Errorf("error writing %s: %w", name, err)
		}
		if err := bufs[t].Flush(); err != nil {
			return fmt.Errorf("error writing %s: %w", name, err)
		}
		if err := files[t].Close(); err != nil {
			return fmt.Errorf("error writing %s: %w", name, err)
		}
	}
	return nil
}

// encodedSegment is one segment's rows encoded: [0] for the train split, [1] for the test split.
type encodedSegment struct {
	x              [2][]float32
	y              [2][]int32
	tags, payloads []uint64
}

// encoder turns spilled values into encoded features, with the schema's columns.
type encoder struct {
	cols []encCol
}

type encCol struct {
	src    int // index into the spill's columns
	col    *Column
	column *column
	offset int   // first feature
	onehot []int // vocabulary code → category index (categorical columns)
	fill   float64
	fillAt int
}

func newEncoder(s *Schema, st *state, used []int) *encoder {
	e := &encoder{}
	off := 0
	for k, i := range used {
		col := &s.Columns[k]
		ec := encCol{src: i, col: col, column: st.cols[i], offset: off}
		if col.Type == TypeCategorical {
			ec.onehot = make([]int, len(st.cols[i].texts))
			for code, t := range st.cols[i].texts {
				ec.onehot[code] = sort.SearchStrings(col.Categories, t)
			}
			ec.fillAt = sort.SearchStrings(col.Categories, col.Fill)
			off += len(col.Categories)
		} else {
			ec.fill, _ = ParseNumber(col.Fill)
			off++
		}
		e.cols = append(e.cols, ec)
	}
	return e
}

// encode writes the features of one row's spilled values into dst. A missing value was refused or filled
// before: with --missing=drop no kept row has one, with impute every column has a Fill.
func (e *encoder) encode(tags, payloads []uint64, dst []float32) {
	for _, c := range e.cols {
		tag, payload := tags[c.src], payloads[c.src]
		if c.onehot != nil {
			at := c.fillAt
			if tag >= tagCode {
				at = c.onehot[tag-tagCode]
			}
			cats := dst[c.offset : c.offset+len(c.col.Categories)]
			clear(cats)
			cats[at] = 1
			continue
		}
		f := c.fill
		switch {
		case tag >= tagCode:
			f = c.column.numbers[tag-tagCode]
		case tag == tagNumber:
			f = math.Float64frombits(payload)
		}
		dst[c.offset] = float32(c.col.Standardise(f))
	}
}

// mostFrequent returns the most frequent value, the lexically first among equally frequent ones.
func mostFrequent(texts []string, counts []int) string {
	best := -1
	for code, n := range counts {
		if n == 0 {
			continue
		}
		if best < 0 || n > counts[best] || n == counts[best] && texts[code] < texts[best] {
			best = code
		}
	}
	return texts[best]
}
