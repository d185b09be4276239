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
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"gonum.org/v1/gonum/mat"

	"github.com/mlpipe/mlpipe/pkg/store"
)

// Files of a preprocessed dataset directory.
const (
	// TrainFile is the training split.
	TrainFile = "train.arrow"
	// TestFile is the test split.
	TestFile = "test.arrow"
	// SchemaFile is the schema and statistics (Schema).
	SchemaFile = "schema.json"
)

// DatasetFiles are the dataset's files in the order the dataset digest hashes them.
var DatasetFiles = []string{TrainFile, TestFile, SchemaFile}

// Column names of a split file.
const (
	// FeaturesColumn holds each row's encoded features: FixedSizeList<float32>[len(Schema.Features)].
	FeaturesColumn = "features"
	// LabelColumn holds each row's class index into Schema.Classes: int32.
	LabelColumn = "label"
)

// BlockRows is the number of rows of each record batch a Writer writes (the last one may be shorter): 8192
// rows of 20 features are 1.25 MiB of values, large enough that the per-batch overhead vanishes and small enough
// that a reader holds little.
const BlockRows = 8192

// splitSchema is the Arrow schema of a split with d features.
func splitSchema(d int) *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		{Name: FeaturesColumn, Type: arrow.FixedSizeListOfNonNullable(int32(d), arrow.PrimitiveTypes.Float32)},
		{Name: LabelColumn, Type: arrow.PrimitiveTypes.Int32},
	}, nil)
}

// Batch is a block of encoded rows: X is rows×features (row-major), Y the class index of each row.
type Batch struct {
	X *mat.Dense
	Y []int
}

// Dataset is an encoded split read in blocks, any number of times, in any order.
type Dataset interface {
	Len() int     // rows
	Dim() int     // features
	Classes() int // classes
	NumBlocks() int
	// Block returns block i in file order; the Batch is valid until the next Block call.
	Block(i int) (Batch, error)
}

// Writer writes an encoded split as an Arrow IPC file of record batches of BlockRows rows. A goroutine of its
// own serialises and writes a full batch while the caller fills the next one.
type Writer struct {
	fw     *ipc.FileWriter
	schema *arrow.Schema
	dim    int
	x      []float32 // the batch being filled
	y      []int32
	n      int // rows in the current batch
	rows   int
	full   chan batch    // to the writing goroutine
	free   chan batch    // back from it
	done   chan struct{} // closed when the writing goroutine ends
	mu     sync.Mutex
	err    error // the first failed write
	closed bool
}

// batch is one record batch's buffers.
type batch struct {
	x []float32
	y []int32
	n int
}

// writerBatches is how many batches a Writer holds: one filled while the other is written.
const writerBatches = 2

// NewWriter starts a split file with d features on w.
func NewWriter(w io.Writer, d int) (*Writer, error) {
	if d < 1 {
		return nil, fmt.Errorf("a split needs at least one feature, got %d", d)
	}
	s := splitSchema(d)
	fw, err := ipc.NewFileWriter(w, ipc.WithSchema(s), ipc.WithAllocator(memory.DefaultAllocator))
	if err != nil {
		return nil, err
	}
	sw := &Writer{fw: fw, schema: s, dim: d, full: make(chan batch), free: make(chan batch, writerBatches), done: make(chan struct{})}
	for range writerBatches - 1 {
		sw.free <- batch{x: make([]float32, BlockRows*d), y: make([]int32, BlockRows)}
	}
	sw.x, sw.y = make([]float32, BlockRows*d), make([]int32, BlockRows)
	go sw.write()
	return sw, nil
}

// Add appends a row of class index label and returns its feature slots (Dim values) for the caller to fill
// before the next Add or Close.
func (w *Writer) Add(label int) ([]float32, error) {
	if w.n == BlockRows {
		if err := w.flush(); err != nil {
			return nil, err
		}
	}
	w.y[w.n] = int32(label)
	row := w.x[w.n*w.dim : (w.n+1)*w.dim]
	w.n++
	w.rows++
	return row, nil
}

// Rows returns the number of rows added.
func (w *Writer) Rows() int { return w.rows }

// flush hands the current batch to the writing goroutine and takes a free one; it fails once a write has.
func (w *Writer) flush() error {
	if w.n == 0 {
		return nil
	}
	w.full <- batch{x: w.x, y: w.y, n: w.n}
	b := <-w.free
	w.x, w.y, w.n = b.x, b.y, 0
	return w.failed()
}

func (w *Writer) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// write serialises the batches it is handed, in order, and gives their buffers back. Its arrays are built on
// the batch's own buffers (no copy): the IPC writer has written them when Write returns. After a failure it
// keeps taking batches (and gives them back, unwritten) until full is closed.
func (w *Writer) write() {
	defer close(w.done)
	for b := range w.full {
		if w.failed() == nil {
			if err := w.writeBatch(b); err != nil {
				w.mu.Lock()
				w.err = err
				w.mu.Unlock()
			}
		}
		w.free <- b
	}
}

func (w *Writer) writeBatch(b batch) error {
	n, d := b.n, w.dim
	values := array.NewData(arrow.PrimitiveTypes.Float32, n*d,
		[]*memory.Buffer{nil, memory.NewBufferBytes(arrow.Float32Traits.CastToBytes(b.x[:n*d]))}, nil, 0, 0)
	defer values.Release()
	listData := array.NewData(w.schema.Field(0).Type, n, []*memory.Buffer{nil}, []arrow.ArrayData{values}, 0, 0)
	defer listData.Release()
	features := array.NewFixedSizeListData(listData)
	defer features.Release()
	labelData := array.NewData(arrow.PrimitiveTypes.Int32, n,
		[]*memory.Buffer{nil, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(b.y[:n]))}, nil, 0, 0)
	defer labelData.Release()
	labels := array.NewInt32Data(labelData)
	defer labels.Release()
	rec := array.NewRecordBatch(w.schema, []arrow.Array{features, labels}, int64(n))
	defer rec.Release()
	return w.fw.Write(rec)
}

// Close writes the last batch and the file's footer; it does not close the underlying writer. A Writer given
// up on is closed too, to end its goroutine; a second Close does nothing.
func (w *Writer) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	_ = w.flush() // its error is the one failed() reports below
	close(w.full)
	<-w.done
	if err := w.failed(); err != nil {
		return err
	}
	return w.fw.Close()
}

// File is a split file read through io.ReaderAt: a block is read when it is asked for, never the whole file.
type File struct {
	name    string
	f       *os.File
	release func()
	r       *ipc.FileReader
	dim     int
	classes int
	rows    int       // from schema.json; every block but the last holds BlockRows rows
	x       []float64 // the current block's features, widened from the file's float32
	y       []int
}

var _ Dataset = (*File)(nil)

// OpenFile opens the split at path, described by s; name is what errors call it.
func OpenFile(path, name string, s *Schema) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("error opening %s: %w", name, err)
	}
	d, err := openFile(f, name, s)
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	return d, nil
}

func openFile(f *os.File, name string, s *Schema) (*File, error) {
	r, err := ipc.NewFileReader(f, ipc.WithAllocator(memory.DefaultAllocator))
	if err != nil {
		return nil, fmt.Errorf("%s is not an Arrow IPC file: %w", name, err)
	}
	want := splitSchema(len(s.Features))
	if !r.Schema().Equal(want) {
		_ = r.Close()
		return nil, fmt.Errorf("%s: columns %s do not match the schema's %d features (want %s)", name, r.Schema(), len(s.Features), want)
	}
	rows, err := splitRows(s, name)
	if err != nil {
		_ = r.Close()
		return nil, err
	}
	blocks := (rows + BlockRows - 1) / BlockRows
	if r.NumRecords() != blocks {
		_ = r.Close()
		return nil, fmt.Errorf("%s has %d blocks, the schema's %d rows make %d blocks of %d rows", name, r.NumRecords(), rows, blocks, BlockRows)
	}
	return &File{name: name, f: f, r: r, dim: len(s.Features), classes: len(s.Classes), rows: rows}, nil
}

// splitRows returns the row count schema.json records for the split file name.
func splitRows(s *Schema, name string) (int, error) {
	switch path.Base(name) {
	case TrainFile:
		return s.Counts.Train, nil
	case TestFile:
		return s.Counts.Test, nil
	}
	return 0, fmt.Errorf("%s is neither %s nor %s", name, TrainFile, TestFile)
}

// Len implements Dataset.
func (d *File) Len() int { return d.rows }

// Dim implements Dataset.
func (d *File) Dim() int { return d.dim }

// Classes implements Dataset.
func (d *File) Classes() int { return d.classes }

// NumBlocks implements Dataset.
func (d *File) NumBlocks() int { return d.r.NumRecords() }

// Block implements Dataset: X holds the record batch's float32 values widened to float64 (in a buffer the File
// reuses for every block).
func (d *File) Block(i int) (Batch, error) {
	rec, err := d.r.RecordBatch(i)
	if err != nil {
		return Batch{}, fmt.Errorf("error reading %s block %d: %w", d.name, i, err)
	}
	n := int(rec.NumRows())
	if want := min(BlockRows, d.rows-i*BlockRows); n != want {
		return Batch{}, fmt.Errorf("%s block %d has %d rows, want %d", d.name, i, n, want)
	}
	features, ok := rec.Column(0).(*array.FixedSizeList)
	labels, ok2 := rec.Column(1).(*array.Int32)
	if !ok || !ok2 || features.NullN() > 0 || labels.NullN() > 0 {
		return Batch{}, fmt.Errorf("%s block %d: features or labels have nulls or the wrong type", d.name, i)
	}
	values, ok := features.ListValues().(*array.Float32)
	if !ok {
		return Batch{}, fmt.Errorf("%s block %d: features are not float32", d.name, i)
	}
	vals := values.Float32Values()
	off := features.Offset() * d.dim
	if len(vals) < off+n*d.dim {
		return Batch{}, fmt.Errorf("%s block %d: %d feature values for %d rows of %d features", d.name, i, len(vals)-off, n, d.dim)
	}
	if cap(d.y) < n {
		d.y = make([]int, n)
	}
	y := d.y[:n]
	for r, c := range labels.Int32Values() {
		if c < 0 || int(c) >= d.classes {
			return Batch{}, fmt.Errorf("%s row %d has class index %d, the schema has %d classes", d.name, i*BlockRows+r+1, c, d.classes)
		}
		y[r] = int(c)
	}
	if cap(d.x) < n*d.dim {
		d.x = make([]float64, n*d.dim)
	}
	x := d.x[:n*d.dim]
	for k, v := range vals[off : off+n*d.dim] {
		x[k] = float64(v)
	}
	return Batch{X: mat.NewDense(n, d.dim, x), Y: y}, nil
}

// Close closes the file (and removes a downloaded copy).
func (d *File) Close() error {
	err := d.r.Close()
	if cerr := d.f.Close(); err == nil {
		err = cerr
	}
	if d.release != nil {
		d.release()
	}
	return err
}

// ReadSchema reads and validates schema.json of the dataset directory uri.
func ReadSchema(ctx context.Context, uri string) (*Schema, error) {
	ds, err := store.Open(ctx, uri)
	if err != nil {
		return nil, fmt.Errorf("invalid dataset URI: %w", err)
	}
	raw, err := ds.Get(ctx, SchemaFile)
	if err != nil {
		return nil, fmt.Errorf("error reading dataset schema: %w", err)
	}
	s := &Schema{}
	if err := json.Unmarshal(raw, s); err != nil {
		return nil, fmt.Errorf("%s is not valid JSON: %w", ds.URI(SchemaFile), err)
	}
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("invalid %s: %w", ds.URI(SchemaFile), err)
	}
	return s, nil
}

// OpenSplit reads schema.json of the dataset directory uri and opens its split file (TrainFile or TestFile):
// a local file is read in place; an s3:// one is first streamed into a temporary file, which Close removes.
func OpenSplit(ctx context.Context, uri, split string) (*Schema, *File, error) {
	s, err := ReadSchema(ctx, uri)
	if err != nil {
		return nil, nil, err
	}
	name := store.Join(uri, split)
	path, release, err := store.LocalFile(ctx, name)
	if err != nil {
		return nil, nil, fmt.Errorf("error reading dataset split: %w", err)
	}
	d, err := OpenFile(path, name, s)
	if err != nil {
		release()
		return nil, nil, err
	}
	d.release = release
	return s, d, nil
}

// ErrStop ends Each early without an error.
var ErrStop = errors.New("stop")

// Each calls fn with every block of d in file order.
func Each(d Dataset, fn func(Batch) error) error {
	for i := 0; i < d.NumBlocks(); i++ {
		b, err := d.Block(i)
		if err != nil {
			return err
		}
		if err := fn(b); err != nil {
			if errors.Is(err, ErrStop) {
				return nil
			}
			return err
		}
	}
	return nil
}

// ReadAll reads every block of d into one matrix and its labels.
func ReadAll(d Dataset) (*mat.Dense, []int, error) {
	x := mat.NewDense(max(d.Len(), 1), d.Dim(), nil)
	y := make([]int, 0, d.Len())
	err := Each(d, func(b Batch) error {
		n, _ := b.X.Dims()
		x.Slice(len(y), len(y)+n, 0, d.Dim()).(*mat.Dense).Copy(b.X)
		y = append(y, b.Y...)
		return nil
	})
	return x, y, err
}

// DatasetDigest recomputes the dataset digest of the stored dataset directory uri, streaming its files. A split
// the caller has open (opened, or nil) is read from its local file, so an s3:// split is not fetched twice.
func DatasetDigest(ctx context.Context, uri string, opened *File) (string, error) {
	ds, err := store.Open(ctx, uri)
	if err != nil {
		return "", fmt.Errorf("invalid dataset URI: %w", err)
	}
	h := sha256.New()
	for _, name := range DatasetFiles {
		var r io.ReadCloser
		if opened != nil && path.Base(opened.name) == name {
			r = io.NopCloser(io.NewSectionReader(opened.f, 0, math.MaxInt64))
		} else if r, err = ds.Open(ctx, name); err != nil {
			return "", fmt.Errorf("error reading dataset: %w", err)
		}
		_, err = io.Copy(h, r)
		_ = r.Close()
		if err != nil {
			return "", fmt.Errorf("error reading dataset: %w", err)
		}
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}
