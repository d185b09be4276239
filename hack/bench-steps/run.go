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
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// stepRun is one step process's measurements.
type stepRun struct {
	// Wall is the process's wall time.
	Wall time.Duration
	// PeakRSS is the child's peak resident set size in bytes: its rusage ru_maxrss, or the largest VmRSS the
	// watchdog saw when that is larger.
	PeakRSS int64
	// KilledAtRSS is the resident set size at which the watchdog killed the process (0: not killed).
	KilledAtRSS int64
	// EpochTimes are the times since the start at which the log reported the end of an epoch (epochLine).
	EpochTimes []time.Duration
	// FirstEpochCPU is the process's CPU time (user + system) when the log reported the end of the first epoch.
	FirstEpochCPU time.Duration
	// CPU is the process's CPU time (user + system, from its rusage).
	CPU time.Duration
	// Err is why the step failed (with the log's tail), nil when it exited 0.
	Err error
}

// perEpoch is the time of one epoch from the log: the time between the first and the last epoch line over the
// epochs between them, so that reading the dataset and writing the model do not count. ok is false with fewer
// than two epoch lines.
func (r *stepRun) perEpoch() (time.Duration, bool) {
	n := len(r.EpochTimes)
	if n < 2 {
		return 0, false
	}
	return (r.EpochTimes[n-1] - r.EpochTimes[0]) / time.Duration(n-1), true
}

// perEpochCPU is the CPU time of one epoch: the CPU time from the first epoch line to the end of the process (the
// few steps after the last epoch, such as writing the model, included) over the epochs after the first. On a
// shared machine it varies less than the wall time. ok is false with fewer than two epoch lines.
func (r *stepRun) perEpochCPU() (time.Duration, bool) {
	n := len(r.EpochTimes)
	if n < 2 || r.FirstEpochCPU == 0 {
		return 0, false
	}
	return (r.CPU - r.FirstEpochCPU) / time.Duration(n-1), true
}

// runStep runs bin with args and env added to the environment, streams its output to log (prefixed with name),
// and kills it when its resident set exceeds limit bytes (polled every 50 ms from /proc).
func runStep(name, bin string, args, env []string, limit int64, log io.Writer) *stepRun {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	r := &stepRun{}
	var tail lineTail
	start := time.Now()
	if err := cmd.Start(); err != nil {
		r.Err = fmt.Errorf("error starting %s: %w", name, err)
		return r
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if epochLine(line) {
				r.EpochTimes = append(r.EpochTimes, time.Since(start))
				if len(r.EpochTimes) == 1 {
					r.FirstEpochCPU = processCPU(cmd.Process.Pid)
				}
			}
			tail.add(line)
			fmt.Fprintf(log, "  %s: %s\n", name, line)
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	done := make(chan struct{})
	var killedAt, polled atomic.Int64
	go func() {
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				rss := currentRSS(cmd.Process.Pid)
				if rss > polled.Load() {
					polled.Store(rss)
				}
				if rss > limit {
					killedAt.Store(rss)
					_ = cmd.Process.Kill()
					return
				}
			}
		}
	}()
	err := cmd.Wait()
	r.Wall = time.Since(start)
	close(done)
	pw.Close()
	wg.Wait()
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.PeakRSS = ru.Maxrss << 10 // KiB on Linux
		r.CPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	r.PeakRSS = max(r.PeakRSS, polled.Load()) // ru_maxrss can lag the last sample of a killed process
	r.KilledAtRSS = killedAt.Load()
	switch {
	case r.KilledAtRSS > 0:
		r.Err = fmt.Errorf("%s killed at %s RSS (limit %s)", name, formatBytes(r.KilledAtRSS), formatBytes(limit))
	case err != nil:
		r.Err = fmt.Errorf("%s failed: %w; last output:\n%s", name, err, tail.String())
	}
	return r
}

// currentRSS is pid's resident set size in bytes (VmRSS), 0 when it cannot be read.
func currentRSS(pid int) int64 {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range bytes.Split(data, []byte("\n")) {
		if rest, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(string(rest)), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// processCPU is pid's CPU time so far (utime + stime of /proc/<pid>/stat, in USER_HZ ticks of 10 ms), 0 when it
// cannot be read.
func processCPU(pid int) time.Duration {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name (field 2) is parenthesised and may hold spaces: count fields after its closing ')'.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	stime, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err1 != nil || err2 != nil {
		return 0
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// lineTail keeps the last 30 lines of a log.
type lineTail struct {
	mu    sync.Mutex
	lines []string
}

func (t *lineTail) add(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lines = append(t.lines, line)
	if len(t.lines) > 30 {
		t.lines = t.lines[1:]
	}
}

func (t *lineTail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(t.lines, "\n")
}

// formatBytes renders n in MiB, or in GiB from 1 GiB on.
func formatBytes(n int64) string {
	if n >= 1<<30 {
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	}
	return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
}
