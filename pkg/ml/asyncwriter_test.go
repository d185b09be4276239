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
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestAsyncWriter: what is written arrives whole and in order, across buffer boundaries, and a failed write is
// Flush's error.
func TestAsyncWriter(t *testing.T) {
	var b strings.Builder
	w := newAsyncWriter(&b)
	var want strings.Builder
	for i := 0; i < 300000; i++ {
		line := fmt.Sprintf("%d,", i)
		want.WriteString(line)
		if _, err := w.Write([]byte(line)); err != nil {
			t.Fatal(err)
		}
	}
	big := strings.Repeat("x", 3*asyncBuffer+5)
	want.WriteString(big)
	_, _ = w.Write([]byte(big))
	if err := w.Flush(); err != nil || b.String() != want.String() {
		t.Fatalf("err %v, %d bytes arrived, want %d", err, b.Len(), want.Len())
	}
	boom := errors.New("boom")
	f := newAsyncWriter(failingWriter{boom})
	_, _ = f.Write(make([]byte, 2*asyncBuffer))
	if err := f.Flush(); !errors.Is(err, boom) {
		t.Fatalf("Flush: %v", err)
	}
}

type failingWriter struct{ err error }

func (f failingWriter) Write([]byte) (int, error) { return 0, f.err }

// TestAsyncWriterFlushAtOnce: a Flush right after the start, with nothing written, returns (the writing
// goroutine may not have started yet).
func TestAsyncWriterFlushAtOnce(t *testing.T) {
	for i := 0; i < 1000; i++ {
		var b strings.Builder
		if err := newAsyncWriter(&b).Flush(); err != nil || b.Len() != 0 {
			t.Fatalf("Flush: %v, %d bytes", err, b.Len())
		}
	}
}
