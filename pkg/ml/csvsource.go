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
	"context"
	"crypto/sha256"
	"encoding/csv"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/mlpipe/mlpipe/pkg/dataopts"
	"github.com/mlpipe/mlpipe/pkg/store"
)

// Inputs returns the objects a data URI names, in the order they are read: the object itself, or, for a URI
// ending in "/" (an s3:// prefix or a local directory), every object below it in key order.
func Inputs(ctx context.Context, uri string) ([]string, error) {
	if !strings.HasSuffix(uri, "/") {
		return []string{uri}, nil
	}
	s, err := store.Open(ctx, uri)
	if err != nil {
		return nil, err
	}
	keys, err := s.List(ctx, "")
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%s holds no objects", uri)
	}
	uris := make([]string, len(keys))
	for i, k := range keys {
		uris[i] = s.URI(k)
	}
	return uris, nil
}

// errBinary is what checkedReader returns for content that is not UTF-8 text.
var errBinary = errors.New("binary content")

// checkedReader passes text through and fails on a NUL byte or invalid UTF-8 (a rune split across reads is
// checked whole).
type checkedReader struct {
	r    io.Reader
	tail []byte // the incomplete rune at the end of the previous read
}

func (c *checkedReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	chunk := p[:n]
	if bytes.IndexByte(chunk, 0) >= 0 {
		return 0, errBinary
	}
	start := 0
	if len(c.tail) > 0 {
		k := min(len(chunk), utf8.UTFMax-len(c.tail))
		joined := append(append([]byte{}, c.tail...), chunk[:k]...)
		if !utf8.FullRune(joined) {
			if err != nil {
				return 0, errBinary
			}
			c.tail = append(c.tail[:0], joined...)
			return n, err
		}
		r, size := utf8.DecodeRune(joined)
		if r == utf8.RuneError && size == 1 {
			return 0, errBinary
		}
		start = size - len(c.tail)
		c.tail = c.tail[:0]
	}
	body := chunk[start:]
	// Hold back an incomplete rune at the end for the next read.
	cut := len(body)
	for i := len(body) - 1; i >= 0 && i >= len(body)-utf8.UTFMax; i-- {
		if utf8.RuneStart(body[i]) {
			if !utf8.FullRune(body[i:]) {
				cut = i
			}
			break
		}
	}
	if !utf8.Valid(body[:cut]) {
		return 0, errBinary
	}
	c.tail = append(c.tail, body[cut:]...)
	if err == io.EOF && len(c.tail) > 0 {
		return 0, errBinary
	}
	return n, err
}

// csvInput is one input object being read as CSV.
type csvInput struct {
	uri    string
	body   io.ReadCloser
	csv    *csvRecords
	header []string
	sample []byte // the start of the object, for the delimiter hint of an error
	given  bool   // the delimiter was given, not detected
	delim  rune
}

// openCSV opens one input object, detects or checks its delimiter on its first 64 KiB and reads its header.
// The object's bytes are also written to digest as they are read.
func openCSV(ctx context.Context, uri string, delim rune, digest io.Writer) (*csvInput, error) {
	body, err := store.OpenReader(ctx, uri)
	if err != nil {
		return nil, fmt.Errorf("error reading --data: %w", err)
	}
	in := &csvInput{uri: uri, body: body, given: delim != 0}
	br := bufio.NewReaderSize(&checkedReader{r: io.TeeReader(body, digest)}, 1<<20)
	sample, err := br.Peek(detectSample + 1)
	if errors.Is(err, errBinary) {
		_ = body.Close()
		return nil, fmt.Errorf("%s is not a CSV file: it holds binary (non-UTF-8) content", uri)
	}
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		_ = body.Close()
		return nil, fmt.Errorf("error reading --data: %w", err)
	}
	in.sample = bytes.Clone(sample)
	if len(bytes.TrimSpace(sample)) == 0 {
		_ = body.Close()
		return nil, fmt.Errorf("%s is empty: a CSV with a header row is required", uri)
	}
	if delim == 0 {
		delim = detectDelimiter(in.sample)
	}
	in.delim = delim
	in.csv = newCSVRecords(br, delim)
	header, err := in.csv.Read()
	if err != nil {
		_ = body.Close()
		return nil, in.readError(err)
	}
	seen := map[string]bool{}
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		if h == "" {
			_ = body.Close()
			return nil, fmt.Errorf("%s: header column %d has no name", uri, i+1)
		}
		if seen[h] {
			_ = body.Close()
			return nil, fmt.Errorf("%s: header names column %q twice", uri, h)
		}
		seen[h] = true
		in.header = append(in.header, h)
	}
	return in, nil
}

// readError is the error of a failed CSV read.
func (in *csvInput) readError(err error) error {
	if errors.Is(err, errBinary) {
		return fmt.Errorf("%s is not a CSV file: it holds binary (non-UTF-8) content", in.uri)
	}
	var pe *csv.ParseError
	if !errors.As(err, &pe) {
		return fmt.Errorf("error reading --data: %w", err)
	}
	return fmt.Errorf("%s is not a valid CSV file: %w%s", in.uri, err, delimiterHint(in.sample, in.delim, in.given))
}

// singleColumnError is the error of a CSV whose header has one column.
func (in *csvInput) singleColumnError() error {
	hint := delimiterHint(in.sample, in.delim, in.given)
	if hint == "" {
		hint = " (is it a CSV?)"
	}
	return fmt.Errorf("%s has a single column %q with delimiter %q: need feature columns and a label column%s",
		in.uri, in.header[0], dataopts.DelimiterName(in.delim), hint)
}

// newDigest is the hash of the source digest.
func newDigest() hash.Hash { return sha256.New() }

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

// drain reads the rest of the input and returns its first CSV error.
func (in *csvInput) drain() error {
	for {
		_, err := in.csv.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return in.readError(err)
		}
	}
}
