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
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestNpyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.npy")
	w, err := createNpy(path, 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range [][]float64{{1.5, -2}, {0, 1}} {
		if err := w.row(row); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.row([]float64{1}); err == nil {
		t.Error("a row of the wrong width was accepted")
	}
	if err := w.close(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dict := "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }"
	want := append([]byte("\x93NUMPY\x01\x00\x76\x00"), dict...)
	want = append(want, strings.Repeat(" ", 128-10-len(dict)-1)+"\n"...)
	want = append(want,
		0, 0, 0, 0, 0, 0, 0xf8, 0x3f, // 1.5
		0, 0, 0, 0, 0, 0, 0x00, 0xc0, // -2
		0, 0, 0, 0, 0, 0, 0, 0, // 0
		0, 0, 0, 0, 0, 0, 0xf0, 0x3f, // 1
	)
	if !bytes.Equal(got, want) {
		t.Errorf("x.npy:\n got %q\nwant %q", got, want)
	}
}

func TestNpyInts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "y.npy")
	w, err := createNpy(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []int64{2, 0, 1} {
		if err := w.int(v); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.close(); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	if h := string(got[10:128]); !strings.HasPrefix(h, "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }") || !strings.HasSuffix(h, " \n") {
		t.Errorf("header %q", h)
	}
	if want := []byte{2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0}; !bytes.Equal(got[128:], want) {
		t.Errorf("data % x, want % x", got[128:], want)
	}
}

func TestGenerate(t *testing.T) {
	var all, head, again bytes.Buffer
	if err := generate(50, 3, []io.Writer{&all, &head}, []int{-1, 10}); err != nil {
		t.Fatal(err)
	}
	if err := generate(50, 3, []io.Writer{&again}, []int{-1}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(all.Bytes(), again.Bytes()) {
		t.Error("two runs with the same seed wrote different files")
	}
	lines := strings.SplitAfter(all.String(), "\n")
	if want := strings.Join(lines[:11], ""); head.String() != want {
		t.Errorf("the limited writer got\n%s\nwant the header and the first 10 rows\n%s", head.String(), want)
	}
	recs, err := csv.NewReader(&all).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	wantHeader := []string{"f00", "f01", "f02", "f03", "f04", "f05", "f06", "f07", "f08", "f09", "f10", "f11", "f12", "f13",
		"c0", "c1", "c2", "c3", "c4", "c5", "class"}
	if !slices.Equal(recs[0], wantHeader) {
		t.Errorf("header %v, want %v", recs[0], wantHeader)
	}
	if len(recs) != 51 {
		t.Fatalf("%d records, want a header and 50 rows", len(recs))
	}
	seen := map[string]bool{}
	for _, r := range recs[1:] {
		seen[r[20]] = true
		if !slices.Contains([]string{"red", "green", "blue"}, r[14]) {
			t.Errorf("c0 = %q", r[14])
		}
	}
	if len(seen) != 3 {
		t.Errorf("labels %v, want all three classes in 50 rows", seen)
	}
	var other bytes.Buffer
	_ = generate(50, 4, []io.Writer{&other}, []int{-1})
	if bytes.Equal(other.Bytes(), all.Bytes()) {
		t.Error("seeds 3 and 4 wrote the same file")
	}
}

func TestPerEpoch(t *testing.T) {
	r := &stepRun{EpochTimes: []time.Duration{1 * time.Second, 3 * time.Second, 5 * time.Second}}
	if got, ok := r.perEpoch(); !ok || got != 2*time.Second {
		t.Errorf("perEpoch = %v, %v; want 2s, true", got, ok)
	}
	r.EpochTimes = r.EpochTimes[:1]
	if _, ok := r.perEpoch(); ok {
		t.Error("perEpoch with one epoch line is ok")
	}
}

func TestEpochLine(t *testing.T) {
	for line, want := range map[string]bool{
		"epoch 3/20 loss 0.412000": true,
		"epoch 20/20 loss 0.4":     true,
		"epochs: 20":               false,
		"wrote model.json":         false,
	} {
		if got := epochLine(line); got != want {
			t.Errorf("epochLine(%q) = %v, want %v", line, got, want)
		}
	}
}

// childEnv makes the test binary a child process of TestRunStep that holds about 300 MiB for 2 s.
const childEnv = "BENCH_STEPS_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "epochs" {
		// Two "epochs" of 300 ms of CPU each, each followed by its log line.
		for e := 1; e <= 2; e++ {
			for start := time.Now(); time.Since(start) < 300*time.Millisecond; {
			}
			fmt.Printf("epoch %d/2 loss 0.5\n", e)
		}
		os.Exit(0)
	}
	if os.Getenv(childEnv) == "alloc" {
		b := make([]byte, 300<<20)
		for i := range b {
			b[i] = 1
		}
		time.Sleep(2 * time.Second)
		os.Exit(int(b[len(b)-1]) - 1)
	}
	os.Exit(m.Run())
}

func TestRunStepWatchdog(t *testing.T) {
	start := time.Now()
	r := runStep("child", os.Args[0], nil, []string{childEnv + "=alloc"}, 100<<20, io.Discard)
	if r.KilledAtRSS <= 100<<20 || r.Err == nil || !strings.Contains(r.Err.Error(), "killed at") {
		t.Fatalf("KilledAtRSS %d, Err %v: want killed above 100 MiB", r.KilledAtRSS, r.Err)
	}
	if r.PeakRSS < r.KilledAtRSS {
		t.Errorf("PeakRSS %d below the RSS it was killed at %d", r.PeakRSS, r.KilledAtRSS)
	}
	if time.Since(start) > 1800*time.Millisecond {
		t.Errorf("the child ran %v: it was not killed before it finished sleeping", time.Since(start))
	}
}

func TestRunStepPeakRSS(t *testing.T) {
	r := runStep("child", os.Args[0], nil, []string{childEnv + "=alloc"}, 4<<30, io.Discard)
	if r.Err != nil || r.KilledAtRSS != 0 {
		t.Fatalf("Err %v, KilledAtRSS %d: want a clean exit", r.Err, r.KilledAtRSS)
	}
	if r.PeakRSS < 300<<20 || r.PeakRSS > 600<<20 {
		t.Errorf("PeakRSS %s, want about 300 MiB", formatBytes(r.PeakRSS))
	}
}

func TestRunStepEpochs(t *testing.T) {
	r := runStep("child", os.Args[0], nil, []string{childEnv + "=epochs"}, 4<<30, io.Discard)
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	wall, ok := r.perEpoch()
	if !ok || len(r.EpochTimes) != 2 {
		t.Fatalf("epoch lines at %v: want 2", r.EpochTimes)
	}
	cpu, ok := r.perEpochCPU()
	if !ok {
		t.Fatalf("no CPU per epoch: first epoch at %v CPU, %v in all", r.FirstEpochCPU, r.CPU)
	}
	// A busy loop of 300 ms uses at most 300 ms of CPU, and at least some of it even on a loaded machine.
	if cpu < 50*time.Millisecond || cpu > 450*time.Millisecond || wall < 250*time.Millisecond {
		t.Errorf("per epoch: wall %v, CPU %v; want about 300 ms each", wall, cpu)
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 10_000_000: "10,000,000", 123456: "123,456"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}
