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
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// csvRecords reads CSV records exactly as encoding/csv's Reader does with its defaults (the first record sets
// the number of fields, no comment character, strict quotes) and ReuseRecord. While the lines hold no quote
// character a line is one record whose fields are its delimiter-separated pieces, and it splits them itself:
// one scan for a quote, one string per record, one index search per field, against encoding/csv's per-field
// copying and bookkeeping. At the first line with a quote it hands that line and the rest of the input to an
// encoding/csv Reader, which parses quoted fields and reports their errors; line numbers in its errors count
// from the start of the input. TestCSVRecordsMatchEncodingCSV holds the two to the same records and errors.
type csvRecords struct {
	br     *bufio.Reader
	comma  byte
	fields int // the number of fields of every record, once the first record has set it
	line   int // lines read so far
	rec    []string
	long   []byte // a line longer than br's buffer

	slow      *csv.Reader // the rest of the input, after the first quote
	slowLines int         // lines read before the slow Reader took over
}

// newCSVRecords reads records with delimiter comma from br. A delimiter that is not a single byte goes to
// encoding/csv from the start.
func newCSVRecords(br *bufio.Reader, comma rune) *csvRecords {
	r := &csvRecords{br: br, comma: byte(comma)}
	if comma >= utf8.RuneSelf || comma == '"' || comma == '\r' || comma == '\n' || comma == 0 {
		r.slow = r.newSlow(br, comma)
	}
	return r
}

func (r *csvRecords) newSlow(in io.Reader, comma rune) *csv.Reader {
	c := csv.NewReader(in)
	c.Comma = comma
	c.FieldsPerRecord = r.fields
	c.ReuseRecord = true
	return c
}

// Read returns the next record; it is valid until the next Read.
func (r *csvRecords) Read() ([]string, error) {
	rec, _, err := r.ReadInto(nil)
	return rec, err
}

// ReadInto is Read for a caller that keeps many records: the text of a record it splits itself is appended to
// arena, and its fields are strings viewing that copy, so that a record costs no allocation of its own. The
// appended bytes are the record's key, rowKey's bytes: its fields, each followed by a zero byte (the
// delimiters are overwritten and one zero byte ends it). The record slice is valid until the next read; its
// strings as long as the caller leaves that part of the returned arena unchanged. A caller that reuses an
// arena (arena[:0]) must be done with every string of its earlier records. Records that encoding/csv reads have
// strings of their own and leave arena as it is.
func (r *csvRecords) ReadInto(arena []byte) ([]string, []byte, error) {
	if r.slow != nil {
		rec, err := r.readSlow()
		return rec, arena, err
	}
	for {
		line, err := r.readLine()
		if err != nil && (len(line) == 0 || !errors.Is(err, io.EOF)) {
			return nil, arena, err // io.EOF, or a read error (encoding/csv fails the record with it as well)
		}
		if bytes.IndexByte(line, '"') >= 0 {
			rest := io.MultiReader(bytes.NewReader(bytes.Clone(line)), r.br)
			r.slow, r.slowLines = r.newSlow(rest, rune(r.comma)), r.line
			rec, err := r.readSlow()
			return rec, arena, err
		}
		r.line++
		// The record's text: without its \n, and without one \r before it or before the end of the input (as
		// encoding/csv normalises \r\n and drops a final \r).
		if n := len(line); n > 0 && line[n-1] == '\n' {
			line = line[:n-1]
		}
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		if len(line) == 0 {
			continue // an empty line
		}
		at := len(arena)
		arena = append(arena, line...)
		rec, err := r.split(unsafe.String(&arena[at], len(line)))
		for _, f := range rec[:len(rec)-1] { // no field holds a delimiter: its bytes are the key's separators
			at += len(f)
			arena[at] = 0
			at++
		}
		return rec, append(arena, 0), err
	}
}

// readLine returns the next line with its newline, whole however long it is.
func (r *csvRecords) readLine() ([]byte, error) {
	line, err := r.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		r.long = append(r.long[:0], line...)
		for errors.Is(err, bufio.ErrBufferFull) {
			line, err = r.br.ReadSlice('\n')
			r.long = append(r.long, line...)
		}
		line = r.long
	}
	return line, err
}

// split cuts a record's text into its fields and checks their number.
func (r *csvRecords) split(s string) ([]string, error) {
	rec := r.rec[:0]
	for {
		i := strings.IndexByte(s, r.comma)
		if i < 0 {
			rec = append(rec, s)
			break
		}
		rec = append(rec, s[:i])
		s = s[i+1:]
	}
	r.rec = rec
	if r.fields == 0 {
		r.fields = len(rec)
	} else if len(rec) != r.fields {
		return rec, &csv.ParseError{StartLine: r.line, Line: r.line, Column: 1, Err: csv.ErrFieldCount}
	}
	return rec, nil
}

// rowKey appends the key of a record with fields to key: each field followed by a zero byte.
func rowKey(key []byte, fields []string) []byte {
	for _, f := range fields {
		key = append(append(key, f...), 0)
	}
	return key
}

// readSlow reads a record with encoding/csv, its error's lines counted from the start of the input.
func (r *csvRecords) readSlow() ([]string, error) {
	rec, err := r.slow.Read()
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		shifted := *pe
		shifted.StartLine += r.slowLines
		shifted.Line += r.slowLines
		err = &shifted
	}
	return rec, err
}
