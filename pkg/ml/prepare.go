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
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/cespare/xxhash/v2"

	"github.com/mlpipe/mlpipe/pkg/dataopts"
	"github.com/mlpipe/mlpipe/pkg/suggest"
)

// PrepareConfig is what Prepare needs: the preprocess step's options.
type PrepareConfig struct {
	// Data is the input: an object URI, or a URI ending in "/" for every object below it (Inputs).
	Data string
	// Label is the label column.
	Label string
	// TestFraction is the share of each class held out.
	TestFraction float64
	// Seed seeds the split.
	Seed int64
	// MaxCategories bounds a categorical column's vocabulary; MaxClasses the label's.
	MaxCategories int
	// MaxClasses bounds the number of classes (0: no bound).
	MaxClasses int
	// Exclude names columns left out of the features.
	Exclude []string
	// Delimiter is the field delimiter; 0 detects it.
	Delimiter rune
	// Impute fills missing feature values instead of dropping their rows.
	Impute bool
	// Dir is the directory of the temporary spill file and the split files ("": the system's).
	Dir string
	// Progress, when set, is called every ProgressRows input rows with the rows and bytes read so far.
	Progress func(rows int, bytes int64)
}

// ProgressRows is how often Prepare reports progress.
const ProgressRows = 1_000_000

// Prepared is what Prepare produced: the schema and the two split files, written into a temporary directory
// that Remove deletes.
type Prepared struct {
	// Schema is the dataset's schema.json content.
	Schema *Schema
	// Dir holds TrainFile and TestFile.
	Dir string
	// Bytes is how many input bytes were read.
	Bytes int64
	// DedupBytes is the size of the duplicate-detection table.
	DedupBytes int
	// Delimiter is the delimiter the input was read with.
	Delimiter rune
	// trainHash is the sha256 of TrainFile, taken as it was written.
	trainHash hash.Hash
}

// Digest is the dataset digest: "sha256:<hex>" of the train file, the test file and schema.json, concatenated
// in that order (DatasetFiles), as DatasetDigest recomputes it from a stored dataset. The train file was hashed
// while it was written; the test file is read here. Digest is called once.
func (p *Prepared) Digest(schema []byte) (string, error) {
	f, err := os.Open(p.Path(TestFile))
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := p.trainHash
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	h.Write(schema)
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// Remove deletes the split files.
func (p *Prepared) Remove() { _ = os.RemoveAll(p.Dir) }

// Path returns the local path of the split file name (TrainFile or TestFile).
func (p *Prepared) Path(name string) string { return filepath.Join(p.Dir, name) }

// Prepare runs preprocessing: one streaming pass over the CSV (parse, clean, deduplicate, infer types) that
// spills the kept rows into a compact temporary file, then passes over that file only (the split and the
// training split's statistics, then the encoded splits). log receives the step's messages.
func Prepare(ctx context.Context, cfg PrepareConfig, log io.Writer) (*Prepared, error) {
	dir, err := os.MkdirTemp(cfg.Dir, "mlpipe-preprocess-")
	if err != nil {
		return nil, err
	}
	p := &Prepared{Dir: dir}
	if err := prepare(ctx, cfg, p, log); err != nil {
		p.Remove()
		return nil, err
	}
	return p, nil
}

// Value tags of the spill file: each field is a uvarint tag, a number or hash after tagNumber and tagText, a
// mantissa after a decimal tag.
const (
	tagMissing = 0 // a missing value
	tagNumber  = 1 // + 8 bytes: float64 of a value outside the column's vocabulary
	tagText    = 2 // + 8 bytes: xxhash of a non-number outside the column's vocabulary
	tagDecimal = 3 // tagDecimal + 2·scale + sign, + uvarint mantissa: a decimal outside the vocabulary (4 bytes
	// for a number such as 54.4809 instead of 9)
	tagCode = tagDecimal + 2*decimalScales // tagCode+i: the column's vocabulary entry i
)

// decimalTag is the tag of decimal d.
func decimalTag(d decimal) byte {
	t := tagDecimal + 2*d.scale
	if d.neg {
		t++
	}
	return t
}

// column is what the first pass learns about a feature column.
type column struct {
	name    string
	codes   map[string]uint32 // vocabulary: the first MaxCategories distinct values
	texts   []string
	numbers []float64 // numbers[i] is texts[i] parsed (numeric columns only)
	numeric bool      // every present value so far is a number
	full    bool      // a value outside the vocabulary was seen
	// kept are the statistics of all kept rows (the numbers' while the column is numeric), which the
	// statistics pass turns into the training split's; segment sums the current segment's numbers, merged into
	// kept at the end of each segment.
	kept, segment stats
}

// classes is the label's vocabulary: exact up to MaxClasses, then only counted.
type classes struct {
	codes    map[string]uint32
	names    []string
	counts   []int
	beyond   *rowSet // hashes of values beyond MaxClasses
	numbers  bool    // every value is a number
	fraction bool    // some value is not whole
	smallest []string
}

// chunk is a block of parsed rows handed from the reader to the workers and the merger.
type chunk struct {
	text    []byte            // the rows' text, which fields view (csvRecords.ReadInto)
	keys    [][2]int          // per row: its key in text[keys[i][0]:keys[i][1]], if a whole record's, else -1s
	fields  []string          // rows × kept columns, trimmed
	vals    []parsed          // the same, parsed
	codes   []int32           // the same, their vocabulary codes where a parse worker found them, else -1
	copies  []*vocabularyCopy // the copies a lookup used, one per kept column
	missing []bool            // per row: some field is missing
	hashes  []uint64
	rows    int
	err     error
	done    chan struct{}
}

// parsed is what a field holds.
type parsed struct {
	dec  decimal // the decimal (kind parsedDecimal), or the number's float64 bits in dec.mant (parsedNumber)
	kind uint8
}

const (
	parsedText    = iota
	parsedMissing // IsMissing
	parsedDecimal // parseDecimal took it
	parsedNumber  // another number ParseNumber takes
)

func (p parsed) isNumber() bool { return p.kind >= parsedDecimal }

// number is the value of a decimal or another number.
func (p parsed) number() float64 {
	if p.kind == parsedDecimal {
		return p.dec.value()
	}
	return math.Float64frombits(p.dec.mant)
}

// chunkRows is the number of rows of a chunk: small enough that the chunks in flight between the reader, the
// workers and the merger stay in the shared cache (4096 rows of 20 fields were about 4 MB a chunk).
const chunkRows = 1024

func prepare(ctx context.Context, cfg PrepareConfig, p *Prepared, log io.Writer) error {
	uris, err := Inputs(ctx, cfg.Data)
	if err != nil {
		return fmt.Errorf("error reading --data: %w", err)
	}
	digest := &countingHash{Hash: newDigest()}
	first, err := openCSV(ctx, uris[0], cfg.Delimiter, digest)
	if err != nil {
		return err
	}
	defer func() { _ = first.body.Close() }()
	p.Delimiter = first.delim
	if cfg.Delimiter == 0 && first.delim != ',' {
		fmt.Fprintf(log, "detected delimiter %q in %s\n", dataopts.DelimiterName(first.delim), cfg.Data)
	}
	header := first.header
	if len(header) < 2 {
		if err := first.drain(); err != nil { // a CSV that does not parse says so first
			return err
		}
		return first.singleColumnError()
	}
	labelIdx := slices.Index(header, cfg.Label)
	if labelIdx < 0 {
		if err := first.drain(); err != nil { // a CSV that does not parse says so first
			return err
		}
		return fmt.Errorf("label column %q is not in %s%s (columns: %s)", cfg.Label, cfg.Data, suggest.Hint(cfg.Label, header), QuoteNames(header))
	}
	excluded, keep, err := excludeColumns(header, cfg.Exclude, cfg.Label, cfg.Data)
	if err != nil {
		return err
	}
	s := &Schema{Format: SchemaFormat, Label: cfg.Label, TestFraction: cfg.TestFraction, Seed: cfg.Seed, Missing: "drop"}
	if cfg.Impute {
		s.Missing = "impute"
	}
	for _, name := range excluded {
		s.DroppedColumns = append(s.DroppedColumns, DroppedColumn{Name: name, Reason: "excluded"})
	}
	if len(excluded) > 0 {
		fmt.Fprintf(log, "excluded %d column(s) from the features: %s\n", len(excluded), strings.Join(excluded, ", "))
	}

	spillPath := filepath.Join(p.Dir, "rows.spill")
	sp, err := os.Create(spillPath)
	if err != nil {
		return err
	}
	defer func() { _ = sp.Close(); _ = os.Remove(spillPath); _ = os.Remove(spillPath + ".labels") }()
	r := &reader{cfg: cfg, inputs: uris, first: first, digest: digest, keep: keep, header: header}
	st, err := r.firstPass(ctx, sp, slices.Index(keepNames(header, keep), cfg.Label), s)
	if err != nil {
		return err
	}
	p.Bytes, p.DedupBytes = r.bytesRead(), st.seen.bytes()
	st.seen.free() // the later passes read only kept rows
	s.Source = Source{Digest: fmt.Sprintf("sha256:%x", digest.Sum(nil))}
	p.Schema = s
	return finish(ctx, cfg, s, st, sp, p, log)
}

func keepNames(header []string, keep []int) []string {
	names := make([]string, len(keep))
	for k, j := range keep {
		names[k] = header[j]
	}
	return names
}

// excludeColumns checks the excluded names and returns them in input order with the indices of the columns kept.
func excludeColumns(header, names []string, label, what string) ([]string, []int, error) {
	drop := map[string]bool{}
	for _, n := range names {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		if n == label {
			return nil, nil, fmt.Errorf("cannot exclude %q: it is the label column", n)
		}
		if !slices.Contains(header, n) {
			return nil, nil, fmt.Errorf("excluded column %q is not in %s%s (columns: %s)", n, what, suggest.Hint(n, header), QuoteNames(header))
		}
		drop[n] = true
	}
	var removed []string
	var keep []int
	for j, h := range header {
		if drop[h] {
			removed = append(removed, h)
			continue
		}
		keep = append(keep, j)
	}
	return removed, keep, nil
}

// reader streams the input objects' rows in chunks, parsed by a worker per core.
type reader struct {
	cfg    PrepareConfig
	inputs []string
	first  *csvInput
	digest *countingHash
	keep   []int
	header []string
	free   chan *chunk // chunks the merger is done with
}

// countingHash is the source digest, counting the bytes it hashes (the bytes read so far).
type countingHash struct {
	hash.Hash
	n atomic.Int64
}

func (h *countingHash) Write(p []byte) (int, error) {
	h.n.Add(int64(len(p)))
	return h.Hash.Write(p)
}

// state is what the first pass leaves for the later ones.
type state struct {
	labelIdx int
	cols     []*column // feature columns, kept order minus the label
	classes  *classes
	seen     *rowSet
	kept     int
	// segments[i] is the spill file offset of kept row i·segmentRows: the later passes decode segments in
	// parallel.
	segments []int64
	spilled  int64  // the spill file's size
	labels   string // the path of the labels file: each kept row's class code, a uvarint each
	// imputedRows counts the kept rows with a missing value (--missing=impute).
	imputedRows int
}

// segmentRows is the number of spilled rows in a segment.
const segmentRows = 4096

// produce reads every input's records into chunks sent, in order, on out; each chunk is parsed by a worker
// before its done channel closes.
func (r *reader) produce(ctx context.Context, out chan<- *chunk, work chan<- *chunk) {
	defer close(out)
	defer close(work)
	nk := len(r.keep)
	newChunk := func() *chunk {
		select {
		case c := <-r.free:
			c.text, c.keys, c.fields, c.rows, c.done = c.text[:0], c.keys[:0], c.fields[:0], 0, make(chan struct{})
			return c
		default:
			return &chunk{fields: make([]string, 0, chunkRows*nk), done: make(chan struct{})}
		}
	}
	send := func(c *chunk) bool {
		select {
		case out <- c:
		case <-ctx.Done():
			return false
		}
		if c.err == nil {
			work <- c
		} else {
			close(c.done)
		}
		return true
	}
	c := newChunk()
	for i, uri := range r.inputs {
		in := r.first
		if i > 0 {
			var err error
			if in, err = openCSV(ctx, uri, r.first.delim, r.digest); err != nil {
				c.err = err
				send(c)
				return
			}
			if !slices.Equal(in.header, r.header) {
				_ = in.body.Close()
				c.err = fmt.Errorf("%s: header %s differs from %s's %s: every object of %s must have the same columns",
					uri, QuoteNames(in.header), r.inputs[0], QuoteNames(r.header), r.cfg.Data)
				send(c)
				return
			}
		}
		for {
			var rec []string
			var err error
			at := len(c.text)
			rec, c.text, err = in.csv.ReadInto(c.text)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				_ = in.body.Close()
				c.err = in.readError(err)
				send(c)
				return
			}
			for _, j := range r.keep {
				c.fields = append(c.fields, rec[j])
			}
			key := [2]int{-1, -1} // the record's key serves the row when the row is the whole record
			if len(c.text) > at && len(r.keep) == len(rec) {
				key = [2]int{at, len(c.text)}
			}
			c.keys = append(c.keys, key)
			c.rows++
			if c.rows == chunkRows {
				if !send(c) {
					return
				}
				c = newChunk()
			}
		}
		_ = in.body.Close()
	}
	if c.rows > 0 {
		send(c)
	}
}

// parse trims the chunk's fields, parses numbers, hashes each row and looks the values up in vs.
func parse(c *chunk, nk int, vs vocabularies) {
	c.vals = grow(c.vals, len(c.fields))
	c.missing = grow(c.missing, c.rows)
	c.hashes = grow(c.hashes, c.rows)
	var key []byte
	for i := 0; i < c.rows; i++ {
		missing, trimmed := false, false
		for j := i * nk; j < (i+1)*nk; j++ {
			v := c.fields[j]
			if n := len(v); n > 0 && (v[0] <= ' ' || v[0] >= utf8.RuneSelf || v[n-1] <= ' ' || v[n-1] >= utf8.RuneSelf) {
				v = strings.TrimSpace(v) // only a field starting or ending with a space (or a non-ASCII rune) can trim
				trimmed = trimmed || len(v) < n
				c.fields[j] = v
			}
			if d, ok := parseDecimal(v); ok {
				c.vals[j] = parsed{dec: d, kind: parsedDecimal}
				continue
			}
			if IsMissing(v) {
				c.vals[j] = parsed{kind: parsedMissing}
				missing = true
				continue
			}
			if f, ok := ParseNumber(v); ok {
				c.vals[j] = parsed{dec: decimal{mant: math.Float64bits(f)}, kind: parsedNumber}
			} else {
				c.vals[j] = parsed{kind: parsedText}
			}
		}
		c.missing[i] = missing
		if k := c.keys[i]; k[0] >= 0 && !trimmed {
			c.hashes[i] = xxhash.Sum64(c.text[k[0]:k[1]])
		} else {
			key = rowKey(key[:0], c.fields[i*nk:(i+1)*nk])
			c.hashes[i] = xxhash.Sum64(key)
		}
	}
	vs.lookup(c, nk)
	close(c.done)
}

// grow returns s resized to n, reallocated only when too small.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// firstPass reads the input once: it drops rows with missing values and duplicates, learns each column's type
// and vocabulary and the classes, and spills the kept rows.
func (r *reader) firstPass(ctx context.Context, sp *os.File, labelIdx int, s *Schema) (*state, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	out := make(chan *chunk, 2*runtime.GOMAXPROCS(0)+2)
	work := make(chan *chunk, 2*runtime.GOMAXPROCS(0)+2)
	nk := len(r.keep)
	vs := make(vocabularies, nk)
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range work {
				parse(c, nk, vs)
			}
		}()
	}
	r.free = make(chan *chunk, cap(out)+cap(work))
	go r.produce(ctx, out, work)
	defer wg.Wait()
	defer func() {
		cancel()
		for range out { // let the producer finish
		}
	}()

	st := &state{labelIdx: labelIdx, classes: &classes{codes: map[string]uint32{}, numbers: true}, seen: newRowSet()}
	names := keepNames(r.header, r.keep)
	for k, name := range names {
		if k != labelIdx {
			st.cols = append(st.cols, &column{name: name, codes: map[string]uint32{}, numeric: true})
		}
	}
	w := newAsyncWriter(sp)
	defer w.Flush() // ends its goroutine on an early return
	st.labels = sp.Name() + ".labels"
	lf, err := os.Create(st.labels)
	if err != nil {
		return nil, err
	}
	defer func() { _ = lf.Close() }()
	lw := bufio.NewWriterSize(lf, 64<<10)
	var buf, size, label []byte
	impute := r.cfg.Impute
	for c := range out {
		<-c.done
		if c.err != nil {
			return nil, c.err
		}
		st.seen.touch(c.hashes[:c.rows])
		for i := 0; i < c.rows; i++ {
			s.Counts.Input++
			if r.cfg.Progress != nil && s.Counts.Input%ProgressRows == 0 {
				r.cfg.Progress(s.Counts.Input, r.bytesRead())
			}
			row, vals := c.fields[i*nk:(i+1)*nk], c.vals[i*nk:(i+1)*nk]
			if c.missing[i] && (!impute || vals[labelIdx].kind == parsedMissing) {
				s.Counts.DroppedMissing++
				continue
			}
			if !st.seen.add(c.hashes[i]) {
				s.Counts.DroppedDuplicates++
				continue
			}
			if st.kept%segmentRows == 0 {
				st.segments = append(st.segments, st.spilled)
				st.endSegment()
			}
			st.kept++
			if c.missing[i] {
				st.imputedRows++
			}
			codes := c.codes[i*nk : (i+1)*nk]
			code := uint64(st.classes.add(row[labelIdx], codes[labelIdx], r.cfg.MaxClasses))
			buf = binary.AppendUvarint(buf[:0], code)
			f := 0
			for k, v := range row {
				if k == labelIdx {
					continue
				}
				buf = st.cols[f].add(buf, v, vals[k], codes[k], r.cfg.MaxCategories)
				f++
			}
			size = binary.AppendUvarint(size[:0], uint64(len(buf)))
			if _, err := w.Write(size); err != nil {
				return nil, err
			}
			if _, err := w.Write(buf); err != nil {
				return nil, err
			}
			st.spilled += int64(len(size) + len(buf))
			label = binary.AppendUvarint(label[:0], code)
			if _, err := lw.Write(label); err != nil {
				return nil, err
			}
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		vs.publish(st)
		select { // the chunk's buffers serve again
		case r.free <- c:
		default:
		}
	}
	if s.Counts.Input == 0 {
		return nil, fmt.Errorf("%s has a header but no data rows", r.inputs[0])
	}
	st.endSegment()
	if err := w.Flush(); err != nil {
		return nil, fmt.Errorf("error writing the spill file: %w", err)
	}
	if err := lw.Flush(); err != nil {
		return nil, fmt.Errorf("error writing the spill file: %w", err)
	}
	if err := lf.Close(); err != nil {
		return nil, fmt.Errorf("error writing the spill file: %w", err)
	}
	return st, nil
}

func (r *reader) bytesRead() int64 { return r.digest.n.Load() }

// endSegment merges each column's segment sums into its kept rows' statistics.
func (st *state) endSegment() {
	for _, c := range st.cols {
		c.kept.merge(&c.segment)
		c.segment.reset()
	}
}

// add records a present or missing value of the column in its statistics and appends its spill encoding to
// buf.
func (c *column) add(buf []byte, v string, p parsed, found int32, maxCategories int) []byte {
	if p.kind == parsedMissing {
		c.kept.missing++
		return append(buf, tagMissing)
	}
	isNum := p.isNumber()
	if c.numeric && !isNum {
		c.numeric = false
	}
	if !c.full || !isNum {
		code, ok := uint32(found), found >= 0
		if !ok {
			code, ok = c.codes[v]
		}
		if ok {
			c.kept.codeCounts[code]++
			if c.numeric {
				c.segment.addNumber(c.numbers[code])
			}
			return binary.AppendUvarint(buf, uint64(tagCode+code))
		}
		if len(c.texts) < maxCategories {
			code := uint32(len(c.texts))
			v = strings.Clone(v)
			c.codes[v] = code
			c.texts = append(c.texts, v)
			c.kept.codeCounts = append(c.kept.codeCounts, 1)
			f := 0.0
			if isNum {
				f = p.number()
			}
			c.numbers = append(c.numbers, f)
			if c.numeric {
				c.segment.addNumber(f)
			}
			return binary.AppendUvarint(buf, uint64(tagCode+code))
		}
		c.full = true
	}
	if c.numeric {
		c.segment.addNumber(p.number())
	}
	switch p.kind {
	case parsedDecimal:
		buf = append(buf, decimalTag(p.dec))
		return binary.AppendUvarint(buf, p.dec.mant)
	case parsedNumber:
		buf = append(buf, tagNumber)
		return binary.LittleEndian.AppendUint64(buf, p.dec.mant)
	}
	buf = append(buf, tagText)
	return binary.LittleEndian.AppendUint64(buf, xxhash.Sum64String(v))
}

// add returns the class code of label v (0 beyond MaxClasses, when the step fails anyway), found if a parse
// worker found it (else -1).
func (c *classes) add(v string, found int32, maxClasses int) int {
	code, ok := int(found), found >= 0
	if !ok {
		var c32 uint32
		c32, ok = c.codes[v]
		code = int(c32)
	}
	if ok {
		c.counts[code]++
		return code
	}
	f, isNum := ParseNumber(v)
	c.numbers = c.numbers && isNum
	c.fraction = c.fraction || isNum && f != math.Trunc(f)
	if maxClasses > 0 && len(c.names) >= maxClasses {
		if c.beyond == nil {
			c.beyond = newRowSet()
		}
		c.beyond.add(xxhash.Sum64String(v))
		c.smallest = append(c.smallest, strings.Clone(v))
		SortClasses(c.smallest)
		c.smallest = c.smallest[:min(len(c.smallest), 2)]
		return 0
	}
	code = len(c.names)
	v = strings.Clone(v)
	c.codes[v] = uint32(code)
	c.names = append(c.names, v)
	c.counts = append(c.counts, 1)
	return code
}

// distinct is the number of distinct labels.
func (c *classes) distinct() int {
	n := len(c.names)
	if c.beyond != nil {
		n += c.beyond.n
	}
	return n
}
