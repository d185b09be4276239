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

package steps

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// usage measures a step: its rows, wall time and peak memory.
type usage struct {
	step  string
	log   io.Writer
	start time.Time
}

// startUsage starts measuring the step named step, which logs to log.
func startUsage(step string, log io.Writer) *usage {
	return &usage{step: step, log: log, start: time.Now()}
}

// progress prints a progress line: rows and bytes read so far, their rates and the peak memory.
func (u *usage) progress(rows int, bytes int64) {
	el := time.Since(u.start).Seconds()
	fmt.Fprintf(u.log, "%s: read %d rows, %.0f MB in %.1fs (%.0f rows/s, %.1f MB/s), peak memory %d MiB\n",
		u.step, rows, float64(bytes)/1e6, el, float64(rows)/el, float64(bytes)/1e6/el, PeakRSS()>>20)
}

// done prints the step's closing line (ReportUsage).
func (u *usage) done(rows int) { ReportUsage(u.log, u.step, rows, time.Since(u.start)) }

// ReportUsage prints the line every step ends its log with:
// "<step>: N rows in T (R rows/s), peak memory M MiB".
func ReportUsage(log io.Writer, step string, rows int, elapsed time.Duration) {
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(rows) / s
	}
	fmt.Fprintf(log, "%s: %d rows in %s (%.0f rows/s), peak memory %d MiB\n",
		step, rows, elapsed.Round(time.Millisecond), rate, PeakRSS()>>20)
}

// PeakRSS returns the process's peak resident set size in bytes: VmHWM from /proc/self/status, else getrusage's
// maximum RSS, else 0.
func PeakRSS() int64 {
	if data, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
				if err == nil {
					return kb << 10
				}
			}
		}
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		return ru.Maxrss << 10 // kilobytes on Linux
	}
	return 0
}
