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

package localrun

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Display renders run progress: on a terminal a table redrawn in place
// (task, state, duration, cached), otherwise one plain line per state change.
type Display struct {
	w   io.Writer
	tty bool

	mu    sync.Mutex
	rows  []*row
	index map[string]*row
	drawn int
	stop  chan struct{}
	done  chan struct{}
}

type row struct {
	name           string
	final          bool
	status         TaskStatus
	reason         string
	attempt        int
	started, ended time.Time
}

// NewDisplay returns a Display writing to w; tty selects the live table.
func NewDisplay(w io.Writer, tty bool) *Display {
	d := &Display{w: w, tty: tty, index: map[string]*row{}, stop: make(chan struct{}), done: make(chan struct{})}
	if tty {
		go d.tick()
	} else {
		close(d.done)
	}
	return d
}

// Handle takes an Event; use it as Options.Events.
func (d *Display) Handle(ev Event) {
	d.mu.Lock()
	defer d.mu.Unlock()
	r, ok := d.index[ev.Task]
	if !ok {
		r = &row{name: ev.Task, final: ev.Final}
		d.index[ev.Task] = r
		d.rows = append(d.rows, r)
	}
	r.status, r.reason, r.attempt = ev.Status, ev.Reason, ev.Attempt
	switch ev.Status {
	case StatusRunning:
		r.started = ev.Time
	case StatusSucceeded, StatusFailed, StatusCancelled, StatusCached, StatusSkipped:
		r.ended = ev.Time
	}
	if d.tty {
		d.redraw()
		return
	}
	if ev.Status == StatusPending {
		return
	}
	line := fmt.Sprintf("%-10s %s", ev.Status, ev.Task)
	if ev.Status != StatusRunning && !r.started.IsZero() {
		line += " " + r.ended.Sub(r.started).Round(time.Millisecond).String()
	}
	if ev.Attempt > 1 {
		line += fmt.Sprintf(" (attempt %d)", ev.Attempt)
	}
	if ev.Reason != "" && ev.Status != StatusSucceeded {
		line += " (" + ev.Reason + ")"
	}
	fmt.Fprintln(d.w, line)
}

func (d *Display) tick() {
	defer close(d.done)
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			d.mu.Lock()
			d.redraw()
			d.mu.Unlock()
		case <-d.stop:
			return
		}
	}
}

// redraw moves the cursor up over the previous table and prints it again.
func (d *Display) redraw() {
	var b strings.Builder
	if d.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", d.drawn)
	}
	lines := d.table(time.Now())
	for _, l := range lines {
		b.WriteString("\x1b[2K" + l + "\n")
	}
	d.drawn = len(lines)
	io.WriteString(d.w, b.String())
}

func (d *Display) table(now time.Time) []string {
	lines := []string{fmt.Sprintf("%-24s %-10s %-9s %s", "TASK", "STATE", "DURATION", "CACHED")}
	for _, r := range d.rows {
		name := r.name
		if r.final {
			name += " (finally)"
		}
		dur := ""
		switch {
		case !r.started.IsZero() && !r.ended.IsZero():
			dur = r.ended.Sub(r.started).Round(10 * time.Millisecond).String()
		case !r.started.IsZero():
			dur = now.Sub(r.started).Round(100 * time.Millisecond).String()
		}
		cached := ""
		if r.status == StatusCached {
			cached = "yes"
		}
		state := string(r.status)
		if r.attempt > 1 {
			state += fmt.Sprintf(" #%d", r.attempt)
		}
		lines = append(lines, fmt.Sprintf("%-24s %-10s %-9s %s", name, state, dur, cached))
	}
	return lines
}

// Close stops the live redraw and draws the final table.
func (d *Display) Close() {
	if d.tty {
		close(d.stop)
		<-d.done
		d.mu.Lock()
		d.redraw()
		d.mu.Unlock()
	}
}

// Summary writes the closing lines of a run: status, gate, model version, logs.
func Summary(w io.Writer, res *Result) {
	fmt.Fprintf(w, "\nPipelineRun %s %s", res.PipelineRun, res.Status)
	if res.Reason != "" {
		fmt.Fprintf(w, " (%s)", res.Reason)
	}
	fmt.Fprintf(w, " in %s\n", res.Finished.Sub(res.Started).Round(10*time.Millisecond))
	if res.Message != "" {
		fmt.Fprintf(w, "  %s\n", res.Message)
	}
	for _, t := range res.Tasks {
		if t.Status == StatusFailed && t.Message != "" {
			fmt.Fprintf(w, "  %s failed: %s\n", t.Name, t.Message)
			log := t.Log
			if log == "" {
				log = filepath.Join("tasks", t.Name, "log.txt")
			}
			for _, line := range logTail(filepath.Join(res.Dir, log), 3) {
				fmt.Fprintf(w, "    | %s\n", line)
			}
		}
	}
	if g := res.Gate; g != nil {
		fmt.Fprintf(w, "  gate: %s %s", g.Metric, fmtFloat(g.Value))
		if g.Threshold != nil {
			fmt.Fprintf(w, " (threshold %s)", fmtFloat(g.Threshold))
		}
		switch {
		case g.Passed == nil:
			fmt.Fprintf(w, ": not evaluated\n")
		case *g.Passed:
			fmt.Fprintf(w, ": passed\n")
		case g.Champion != nil && !g.Champion.Passed:
			fmt.Fprintf(w, ": FAILED: does not beat the champion v%d (%s %.4g) by min-delta %g\n", g.Champion.Version, g.Metric, g.Champion.Value, g.Champion.MinDelta)
		default:
			fmt.Fprintf(w, ": FAILED\n")
		}
	}
	if res.ModelVersion != "" {
		fmt.Fprintf(w, "  model version: %s\n", res.ModelVersion)
	}
	fmt.Fprintf(w, "  logs: %s/tasks/<task>/log.txt\n", res.Dir)
}

func fmtFloat(f *float64) string {
	if f == nil {
		return "-"
	}
	return fmt.Sprintf("%.4g", *f)
}

// logTail returns the last n non-empty lines a task's steps wrote (the runner's own "=== attempt" headers
// left out), read from the last 8 KiB of the log, so that a failure shows its reason without opening the file.
func logTail(path string, n int) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	const window = 8 << 10
	partial := false
	if info, err := f.Stat(); err == nil && info.Size() > window {
		if _, err := f.Seek(-window, io.SeekEnd); err != nil {
			return nil
		}
		partial = true
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil
	}
	if partial { // the window starts inside a line
		if i := strings.IndexByte(string(data), '\n'); i >= 0 {
			data = data[i+1:]
		}
	}
	var lines []string
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimRight(line, " \t\r")
		if line == "" || strings.HasPrefix(line, "=== attempt ") {
			continue
		}
		lines = append(lines, line)
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines
}
