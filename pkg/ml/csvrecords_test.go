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
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// readAll reads records until the first error (io.EOF included) and returns them with that error's text (a
// record returned with an error is not compared: preprocess never uses it).
func readAll(read func() ([]string, error)) ([][]string, string) {
	var out [][]string
	for {
		rec, err := read()
		if err != nil {
			return out, err.Error()
		}
		out = append(out, slices.Clone(rec))
	}
}

// sameAsEncodingCSV fails t unless csvRecords and encoding/csv (the oracle) read the same records and the same
// first error from data.
func sameAsEncodingCSV(t *testing.T, data string, comma rune, bufSize int) {
	t.Helper()
	want := csv.NewReader(strings.NewReader(data))
	want.Comma = comma
	want.ReuseRecord = true
	wantRecs, wantErr := readAll(want.Read)
	got := newCSVRecords(bufio.NewReaderSize(strings.NewReader(data), bufSize), comma)
	gotRecs, gotErr := readAll(got.Read)
	if gotErr != wantErr || !slices.EqualFunc(gotRecs, wantRecs, slices.Equal[[]string]) {
		t.Fatalf("comma %q, buffer %d, input %q:\ngot  %q, %s\nwant %q, %s", comma, bufSize, data, gotRecs, gotErr, wantRecs, wantErr)
	}
	// ReadInto's strings view one arena that reallocates as it grows: every record still reads the same at
	// the end.
	into := newCSVRecords(bufio.NewReaderSize(strings.NewReader(data), bufSize), comma)
	arena := make([]byte, 0, 1)
	intoRecs, intoErr := readAll(func() (rec []string, err error) {
		rec, arena, err = into.ReadInto(arena)
		return rec, err
	})
	if intoErr != wantErr || !slices.EqualFunc(intoRecs, wantRecs, slices.Equal[[]string]) {
		t.Fatalf("ReadInto, comma %q, buffer %d, input %q:\ngot  %q, %s\nwant %q, %s", comma, bufSize, data, intoRecs, intoErr, wantRecs, wantErr)
	}
}

// TestCSVRecordsMatchEncodingCSV: on hand-picked and on 20,000 random inputs (quotes, \r, \n, empty lines,
// wrong field counts, multi-byte text and delimiters, lines longer than the buffer), csvRecords returns
// encoding/csv's records and errors, line numbers included, with Read and with ReadInto.
func TestCSVRecordsMatchEncodingCSV(t *testing.T) {
	cases := []string{
		"", "\n", "a,b\n1,2\n", "a,b\n1,2", "a,b\r\n1,2\r\n", "a,b\n1,2\r", "a,b\n\n\n1,2\n\r\n3,4\n",
		"a,b\n1,2,3\n", "a,b\n1\n", "a,b\n1,2\n\"x\",3\n", "a,b\n1,2\n3,\"x\ny\"\n4,5\n", "a,b\n1,2\n3,x\"y\n",
		"a,b\n1,2\n\"x\"y,3\n", "a,b\n1,2\n\"unterminated,3\n", "a,b\n1,2\n3,\"x\"\n4,5,6\n", "\ufeffa,b\n1,2\n",
		"a,b\n1,2\r\r\n", "a,b\n1,2\n3,4\r\r", "a,b\n,\n", ",\n,\n", "a\n\n", "a,b\n1,2\n\"a\"\"b\",c\n",
		"a,b\r\n\r\n1,2", "a,b\n1,é\n", "a,b\n1,\xff\n",
	}
	for _, data := range cases {
		for _, comma := range []rune{',', ';', '\t', '|', '§'} {
			sameAsEncodingCSV(t, strings.ReplaceAll(data, ",", string(comma)), comma, 4096)
		}
		sameAsEncodingCSV(t, data, ',', 16)
	}
	alphabet := []string{"a", "1", "2.5", ",", ",", ",", "\n", "\n", "\r\n", "\r", `"`, `""`, " ", "é", ";", "\t"}
	rng := rand.New(rand.NewPCG(7, 11))
	for i := 0; i < 20000; i++ {
		var b strings.Builder
		quotes := rng.IntN(4) == 0 // most inputs quote nothing, the fast path's case
		for n := rng.IntN(60); n > 0; n-- {
			tok := alphabet[rng.IntN(len(alphabet))]
			if !quotes && strings.Contains(tok, `"`) {
				continue
			}
			b.WriteString(tok)
		}
		comma := []rune{',', ';', '\t'}[rng.IntN(3)]
		sameAsEncodingCSV(t, b.String(), comma, []int{16, 4096}[rng.IntN(2)])
	}
}

// TestCSVRecordsRegularFile: a well-formed file with rows of equal length reads the same either way, quoted
// rows after unquoted ones included, with the error line of a short row far into it.
func TestCSVRecordsRegularFile(t *testing.T) {
	var b strings.Builder
	b.WriteString("x,y,label\n")
	for i := 0; i < 5000; i++ {
		fmt.Fprintf(&b, "%d.5,%d,c%d\n", i, i*7, i%3)
	}
	b.WriteString("\"quoted, text\",1,c0\n")
	for i := 0; i < 100; i++ {
		fmt.Fprintf(&b, "%d,%d,c1\r\n", i, i)
	}
	b.WriteString("1,2\n")
	sameAsEncodingCSV(t, b.String(), ',', 1<<20)
	rec, err := readAll(newCSVRecords(bufio.NewReader(strings.NewReader(b.String())), ',').Read)
	if len(rec) != 5102 || err != "record on line 5103: wrong number of fields" {
		t.Fatalf("%d records, %s", len(rec), err)
	}
}

// TestCSVRecordsReadError: a read error of the input ends the records with that error.
func TestCSVRecordsReadError(t *testing.T) {
	boom := errors.New("boom")
	r := newCSVRecords(bufio.NewReader(io.MultiReader(strings.NewReader("a,b\n1,2\n3,"), errReader{boom})), ',')
	recs, err := readAll(r.Read)
	if len(recs) != 2 || err != "boom" {
		t.Fatalf("%q, %s", recs, err)
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
