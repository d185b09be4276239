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
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
)

// testRows is the split: bit i is set when kept row i goes to the test split. It is decided in spill order from
// the labels file alone (1 bit per kept row: 1.25 MB for 10 million rows), so that the passes after it can
// decode the spill file's segments in parallel.
type testRows []uint64

func (t testRows) has(row int) bool { return t[row/64]&(1<<(row%64)) != 0 }

// decideSplit runs the splitter over every kept row's class.
func decideSplit(st *state, classIdx []int, split *splitter) (testRows, error) {
	f, err := os.Open(st.labels)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 64<<10)
	t := make(testRows, (st.kept+63)/64)
	for row := 0; row < st.kept; row++ {
		code, err := binary.ReadUvarint(br)
		if err != nil {
			return nil, fmt.Errorf("error reading the spill file's labels: %w", err)
		}
		if split.test(classIdx[code]) {
			t[row/64] |= 1 << (row % 64)
		}
	}
	return t, nil
}

// eachSegment decodes the spill file's segments on a goroutine per core: work fills a result from a reader at
// the segment's first row (first: its index among the kept rows, rows: how many it has), and consume takes the
// results in segment order, so what it computes does not depend on the number of cores. Results are reused
// once consumed; at most a few per core are alive at once.
func eachSegment[T any](ctx context.Context, st *state, sp *os.File, newResult func() *T,
	work func(r *spillReader, first, rows int, res *T), consume func(res *T) error) error {
	type job struct {
		seg  int
		res  *T
		err  error
		done chan struct{}
	}
	workers := runtime.GOMAXPROCS(0)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan *job)
	order := make(chan *job, workers+1)
	free := make(chan *T, workers+3)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &spillReader{buf: make([]byte, 1<<20)}
			for j := range jobs {
				start, end := st.segments[j.seg], st.spilled
				if j.seg+1 < len(st.segments) {
					end = st.segments[j.seg+1]
				}
				r.reset(io.NewSectionReader(sp, start, end-start))
				first := j.seg * segmentRows
				work(r, first, min(segmentRows, st.kept-first), j.res)
				j.err = r.err
				close(j.done)
			}
		}()
	}
	go func() {
		defer close(order)
		defer close(jobs)
		for seg := range st.segments {
			var res *T
			select {
			case res = <-free:
			default:
				res = newResult()
			}
			j := &job{seg: seg, res: res, done: make(chan struct{})}
			select {
			case order <- j:
			case <-ctx.Done():
				return
			}
			jobs <- j
		}
	}()
	var err error
	for j := range order {
		<-j.done
		if err == nil {
			if err = j.err; err == nil {
				if err = ctx.Err(); err == nil {
					err = consume(j.res)
				}
			}
			if err != nil {
				cancel() // the segments sent already are drained, no more are
			}
		}
		select {
		case free <- j.res:
		default:
		}
	}
	wg.Wait()
	return err
}

// merge adds a segment's statistics, from its shifted sums, to the training split's (Chan et al.'s pairwise
// update of the mean and the sum of squared deviations). The sample is not merged: the caller offers its values in order.
func (st *stats) merge(o *stats) {
	st.missing += o.missing
	st.imputed += o.imputed
	for k, c := range o.codeCounts {
		st.codeCounts[k] += c
	}
	if o.n == 0 {
		return
	}
	on := float64(o.n)
	mean := o.shift + o.sum/on
	m2 := max(0, o.sumSquares-o.sum*o.sum/on)
	n := st.n + o.n
	d := mean - st.mean
	st.mean += d * on / float64(n)
	st.m2 += m2 + d*d*float64(st.n)*on/float64(n)
	st.n = n
}

// without returns the statistics of the rows of st that are not o's (o's rows are some of st's, as the test
// split's are of the kept rows'): merge undone. Its sample is empty.
func (st *stats) without(o *stats) *stats {
	w := &stats{n: st.n - o.n, missing: st.missing - o.missing, codeCounts: make([]int, len(o.codeCounts))}
	for k := range w.codeCounts {
		w.codeCounts[k] = st.codeCounts[k] - o.codeCounts[k]
	}
	if w.n == 0 {
		return w
	}
	n, m := float64(st.n), float64(o.n)
	w.mean = st.mean + (st.mean-o.mean)*m/(n-m)
	d := o.mean - w.mean
	w.m2 = max(0, st.m2-o.m2-d*d*m*(n-m)/n)
	return w
}

// reset empties the statistics for another segment.
func (st *stats) reset() {
	st.n, st.missing, st.imputed, st.mean, st.m2 = 0, 0, 0, 0, 0
	st.shift, st.sum, st.sumSquares = 0, 0, 0
	clear(st.codeCounts)
	st.sample = st.sample[:0]
}
