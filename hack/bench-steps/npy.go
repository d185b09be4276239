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

package main

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"strings"
)

// npyHeaderLen is the fixed length of the header npyWriter writes (magic, version, length and the padded dict):
// a multiple of 64, as NumPy aligns it, and large enough for any shape.
const npyHeaderLen = 128

// npyWriter streams a C-ordered little-endian array into a NumPy .npy file (format version 1.0): float64 rows of
// a fixed width (descr "<f8", shape (rows, cols)) or, with cols 0, int64 values (descr "<i8", shape (rows,)). The
// header, which holds the row count, is written when the file is closed.
type npyWriter struct {
	f     *os.File
	w     *bufio.Writer
	cols  int
	rows  int
	bytes [8]byte
}

func createNpy(path string, cols int) (*npyWriter, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	w := &npyWriter{f: f, w: bufio.NewWriterSize(f, 1<<20), cols: cols}
	if _, err := w.w.Write(make([]byte, npyHeaderLen)); err != nil {
		f.Close()
		return nil, err
	}
	return w, nil
}

// row appends one row of cols float64 values.
func (w *npyWriter) row(x []float64) error {
	if len(x) != w.cols {
		return fmt.Errorf("%s: row %d has %d values, want %d", w.f.Name(), w.rows+1, len(x), w.cols)
	}
	for _, v := range x {
		binary.LittleEndian.PutUint64(w.bytes[:], math.Float64bits(v))
		if _, err := w.w.Write(w.bytes[:]); err != nil {
			return err
		}
	}
	w.rows++
	return nil
}

// int appends one int64 value (cols 0).
func (w *npyWriter) int(v int64) error {
	binary.LittleEndian.PutUint64(w.bytes[:], uint64(v))
	_, err := w.w.Write(w.bytes[:])
	w.rows++
	return err
}

// close writes the header and closes the file.
func (w *npyWriter) close() error {
	if err := w.w.Flush(); err != nil {
		w.f.Close()
		return err
	}
	if _, err := w.f.WriteAt(npyHeader(w.rows, w.cols), 0); err != nil {
		w.f.Close()
		return err
	}
	return w.f.Close()
}

// npyHeader is the .npy header of rows×cols float64 (cols > 0) or rows int64 values, npyHeaderLen bytes.
func npyHeader(rows, cols int) []byte {
	dict := fmt.Sprintf("{'descr': '<i8', 'fortran_order': False, 'shape': (%d,), }", rows)
	if cols > 0 {
		dict = fmt.Sprintf("{'descr': '<f8', 'fortran_order': False, 'shape': (%d, %d), }", rows, cols)
	}
	pad := npyHeaderLen - 10 - len(dict) - 1
	h := append([]byte("\x93NUMPY\x01\x00"), byte(npyHeaderLen-10), 0)
	h = append(h, dict...)
	h = append(h, strings.Repeat(" ", pad)...)
	return append(h, '\n')
}
