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

import "io"

// asyncWriter buffers writes and writes each full buffer to w on a goroutine of its own, so that the caller
// goes on while the write system call copies the last one: the spill file's writes leave the first pass's
// merge, its busiest goroutine. Flush must be called at the end (also after a failure, to end the goroutine).
type asyncWriter struct {
	buf  []byte
	full chan []byte // to the writing goroutine
	free chan []byte // back from it
	done chan error  // its first error, when full is closed
	err  error
}

const asyncBuffer = 1 << 20

func newAsyncWriter(w io.Writer) *asyncWriter {
	a := &asyncWriter{buf: make([]byte, 0, asyncBuffer), full: make(chan []byte), free: make(chan []byte, 1), done: make(chan error, 1)}
	a.free <- make([]byte, 0, asyncBuffer)
	go func(full <-chan []byte) { // the channel is passed: Flush clears a.full
		var err error
		for b := range full {
			if err == nil {
				_, err = w.Write(b)
			}
			a.free <- b[:0]
		}
		a.done <- err
	}(a.full)
	return a
}

// Write buffers p. It does not fail: Flush reports the first write that did.
func (a *asyncWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		k := copy(a.buf[len(a.buf):cap(a.buf)], p)
		a.buf, p = a.buf[:len(a.buf)+k], p[k:]
		if len(a.buf) == cap(a.buf) {
			a.full <- a.buf
			a.buf = <-a.free
		}
	}
	return n, nil
}

// Flush writes what is buffered, waits for every write and returns the first error.
func (a *asyncWriter) Flush() error {
	if a.full == nil {
		return a.err
	}
	if len(a.buf) > 0 {
		a.full <- a.buf
		<-a.free
	}
	close(a.full)
	a.full = nil
	a.err = <-a.done
	return a.err
}
