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

	"github.com/mlpipe/mlpipe/pkg/gate"
)

// Display renders run progress: on a terminal the run folder once, then a table redrawn in place (task, state,
// duration, cached, and the epoch, loss and ETA of a task whose log prints "epoch N/M loss X" lines); otherwise
// plain lines: the run folder, one line per state change, and a progress line per running task at most every
// PlainProgressEvery.
type Display struct {
	w   io.Writer
	tty bool
	now func() time.Time

	mu      sync.Mutex
	dir     string
	rows    []*row
	index   map[string]*row
	drawn   int
	printed map[string]Progress
	stop    chan struct{}
	done    chan struct{}
}

// PlainProgressEvery is how often a Display that is not on a terminal prints the progress of running tasks.
const PlainProgressEvery = 10 * time.Second

type row struct {
	name           string
	final          bool
	status         TaskStatus
	reason         string
	attempt        int
	started, ended time.Time
	progress       Progress
	hasProgress    bool
}

// NewDisplay returns a Display writing to w; tty selects the live table.
func NewDisplay(w io.Writer, tty bool) *Display {
	d := &Display{w: w, tty: tty, now: time.Now, index: map[string]*row{}, printed: map[string]Progress{},
		stop: make(chan struct{}), done: make(chan struct{})}
	every := PlainProgressEvery
	if tty {
		every = 200 * time.Millisecond
	}
	go d.tick(every)
	return d
}

// Handle takes an Event; use it as Options.Events.
func (d *Display) Handle(ev Event) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.dir == "" && ev.Dir != "" {
		d.dir = ev.Dir
		// Printed once, above the table that redraws: a line that wraps here does not upset the redraw.
		fmt.Fprintf(d.w, "run folder: %s\n  follow a task: tail -f %s\n", d.dir, filepath.Join(d.dir, "tasks", "<task>", "log.txt"))
	}
	r, ok := d.index[ev.Task]
	if !ok {
		r = &row{name: ev.Task, final: ev.Final}
		d.index[ev.Task] = r
		d.rows = append(d.rows, r)
	}
	r.status, r.reason, r.attempt = ev.Status, ev.Reason, ev.Attempt
	switch ev.Status {
	case StatusRunning:
		r.started, r.hasProgress = ev.Time, false
	case StatusSucceeded, StatusFailed, StatusCancelled, StatusCached, StatusSkipped:
		r.ended = ev.Time
		d.readProgress(r)
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
		line += " " + FormatDuration(r.ended.Sub(r.started))
	}
	if ev.Attempt > 1 {
		line += fmt.Sprintf(" (attempt %d)", ev.Attempt)
	}
	if ev.Reason != "" && ev.Status != StatusSucceeded {
		line += " (" + ev.Reason + ")"
	}
	if r.hasProgress && ev.Status != StatusRunning {
		line += " " + r.progress.String()
	}
	fmt.Fprintln(d.w, line)
}

// readProgress refreshes a row's progress from its task's log.
func (d *Display) readProgress(r *row) {
	if d.dir == "" {
		return
	}
	if p, ok := readProgress(filepath.Join(d.dir, "tasks", r.name, "log.txt")); ok {
		r.progress, r.hasProgress = p, true
	}
}

func (d *Display) tick(every time.Duration) {
	defer close(d.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			d.mu.Lock()
			switch {
			case len(d.rows) == 0: // nothing to show before the first event
			case d.tty:
				d.redraw()
			default:
				d.plainProgress()
			}
			d.mu.Unlock()
		case <-d.stop:
			return
		}
	}
}

// plainProgress prints one line per running task whose progress changed since its last line.
func (d *Display) plainProgress() {
	now := d.now()
	for _, r := range d.rows {
		if r.status != StatusRunning {
			continue
		}
		d.readProgress(r)
		if !r.hasProgress || d.printed[r.name] == r.progress {
			continue
		}
		d.printed[r.name] = r.progress
		fmt.Fprintf(d.w, "%-10s %s %s %s\n", "Progress", r.name, FormatDuration(now.Sub(r.started)), r.progressETA(now))
	}
}

// redraw moves the cursor up over the previous table and prints it again.
func (d *Display) redraw() {
	now := d.now()
	for _, r := range d.rows {
		if r.status == StatusRunning {
			d.readProgress(r)
		}
	}
	var b strings.Builder
	if d.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", d.drawn)
	}
	lines := d.table(now)
	for _, l := range lines {
		b.WriteString("\x1b[2K" + l + "\n")
	}
	d.drawn = len(lines)
	io.WriteString(d.w, b.String())
}

func (d *Display) table(now time.Time) []string {
	const format = "%-24s %-11s %-9s %-6s %s"
	lines := []string{strings.TrimRight(fmt.Sprintf(format, "TASK", "STATE", "DURATION", "CACHED", "PROGRESS"), " ")}
	for _, r := range d.rows {
		name := r.name
		if r.final {
			name += " (finally)"
		}
		dur := ""
		switch {
		case !r.started.IsZero() && !r.ended.IsZero():
			dur = FormatDuration(r.ended.Sub(r.started))
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
		progress := ""
		switch {
		case r.hasProgress && r.status == StatusRunning:
			progress = r.progressETA(now)
		case r.hasProgress:
			progress = r.progress.String()
		}
		lines = append(lines, strings.TrimRight(fmt.Sprintf(format, name, state, dur, cached, progress), " "))
	}
	return lines
}

// String is "epoch N/M loss X".
func (p Progress) String() string {
	return fmt.Sprintf("epoch %d/%d loss %s", p.Epoch, p.Epochs, gate.FormatMetric(p.Loss))
}

// progressETA is the row's progress with the estimated time left.
func (r *row) progressETA(now time.Time) string {
	s := r.progress.String()
	if eta := r.progress.ETA(now.Sub(r.started)); eta > 0 {
		s += " ETA " + eta.Round(time.Second).String()
	}
	return s
}

// Close stops the live redraw and draws the final table.
func (d *Display) Close() {
	close(d.stop)
	<-d.done
	if d.tty {
		d.mu.Lock()
		d.redraw()
		d.mu.Unlock()
	}
}

// FormatDuration is how mlpipe shows a task's or run's duration: 10 ms steps under a minute, seconds above.
func FormatDuration(d time.Duration) string {
	if d >= time.Minute {
		return d.Round(time.Second).String()
	}
	return d.Round(10 * time.Millisecond).String()
}

// TaskLog returns the log a task left, absolute: its own tasks/<task>/log.txt in the run folder or, for a task
// restored from the cache (which runs nothing and so writes no log), the log of the run it was restored from.
// It is "" when neither exists.
func TaskLog(res *Result, t *TaskResult) string {
	rel := t.Log
	if rel == "" {
		rel = filepath.Join("tasks", t.Name, "log.txt")
	}
	own := filepath.Join(res.Dir, rel)
	if fileExists(own) {
		return absPath(own)
	}
	if t.CachedFrom != "" {
		if from := filepath.Join(filepath.Dir(res.Dir), t.CachedFrom, rel); fileExists(from) {
			return absPath(from)
		}
	}
	return ""
}

func fileExists(path string) bool {
	st, err := os.Stat(path)
	return err == nil && !st.IsDir()
}

func absPath(p string) string {
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}

// Summary writes the closing lines of a run: status, gate, model version, logs.
func Summary(w io.Writer, res *Result) {
	fmt.Fprintf(w, "\nPipelineRun %s %s", res.PipelineRun, res.Status)
	if res.Reason != "" {
		fmt.Fprintf(w, " (%s)", res.Reason)
	}
	fmt.Fprintf(w, " in %s\n", FormatDuration(res.Finished.Sub(res.Started)))
	if res.Message != "" {
		fmt.Fprintf(w, "  %s\n", res.Message)
	}
	for _, t := range res.Tasks {
		if t.Status == StatusFailed && t.Message != "" {
			fmt.Fprintf(w, "  %s failed: %s\n", t.Name, t.Message)
			for _, line := range logTail(TaskLog(res, &t), 3) {
				fmt.Fprintf(w, "    | %s\n", line)
			}
		}
	}
	if g := res.Gate; g != nil {
		gateSummary(w, g)
	}
	if res.ModelVersion != "" {
		fmt.Fprintf(w, "  model version: %s\n", res.ModelVersion)
	}
	fmt.Fprintf(w, "  logs: %s/tasks/<task>/log.txt\n", res.Dir)
	for i := range res.Tasks {
		t := &res.Tasks[i]
		if t.Status != StatusCached {
			continue
		}
		if log := TaskLog(res, t); log != "" {
			fmt.Fprintf(w, "    %s (cached from run %s): %s\n", t.Name, t.CachedFrom, log)
		} else {
			fmt.Fprintf(w, "    %s (cached from run %s): no log\n", t.Name, t.CachedFrom)
		}
	}
}

// gateSummary writes the gate's line and, under it, every reason the evaluate step gave for a failed gate and
// why it did not compare the champion, in the step's words (metrics.json's gate.reasons and
// gate.championSkipped).
func gateSummary(w io.Writer, g *Gate) {
	value := "-"
	if g.Value != nil {
		value = gate.FormatMetric(*g.Value)
	}
	fmt.Fprintf(w, "  gate: %s %s", g.Metric, value)
	if g.Threshold != nil {
		fmt.Fprintf(w, " (threshold %s)", gate.Format(*g.Threshold))
	}
	switch {
	case g.Passed == nil:
		fmt.Fprintf(w, ": not evaluated\n")
	case *g.Passed:
		fmt.Fprintf(w, ": passed\n")
	default:
		fmt.Fprintf(w, ": FAILED\n")
		for _, why := range g.Reasons {
			fmt.Fprintf(w, "    %s\n", why)
		}
		// A metrics.json written by a user's own evaluate script may record the comparison without reasons.
		if c := g.Champion; len(g.Reasons) == 0 && c != nil && !c.Passed {
			fmt.Fprintf(w, "    %s does not beat the champion v%d (%s) by more than min-delta %s\n",
				g.Metric, c.Version, gate.FormatMetric(c.Value), gate.Format(c.MinDelta))
		}
	}
	if g.ChampionSkipped != "" {
		fmt.Fprintf(w, "    %s\n", g.ChampionSkipped)
	}
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
