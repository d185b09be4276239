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

package integration

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mlpipe/mlpipe/pkg/commands"
	"github.com/mlpipe/mlpipe/test/cluster"
)

// lossRuns are five recorded runs of a pipeline gated on log-loss < 5, as run.json and metrics.json (the
// evaluate step's shape; run 3's gate carries reasons objects, the per-reason output being added to evaluate).
// Values: 9.47 (fails the threshold), 3.06 (passes, v1), 3.2 (meets the threshold, loses to champion v1),
// 0.9 (passes, beats v1), and a run whose train failed (no gate value).
var lossRuns = []struct {
	id, runJSON, metricsJSON string
	logs                     []string
}{{
	id: "20261202-100000-0001",
	runJSON: `{"runID":"20261202-100000-0001","pipeline":"loss","pipelineRun":"loss-1","status":"Failed","reason":"Failed",
		"params":{"epochs":"1","learning-rate":"0.5","seed":"42"},"started":"2026-12-02T10:00:00Z","finished":"2026-12-02T10:00:01.25Z",
		"tasks":[{"name":"train","status":"Succeeded"},{"name":"evaluate","status":"Succeeded"},{"name":"register","status":"Skipped"}],
		"gate":{"task":"evaluate","metric":"log-loss","threshold":5,"value":9.47,"passed":false},"metrics":"METRICS"}`,
	metricsJSON: `{"logLoss":9.47,"gate":{"metric":"log-loss","operator":"<","threshold":5,"value":9.47,"thresholdPassed":false,"passed":false}}`,
	logs:        []string{"train", "evaluate"},
}, {
	id: "20261202-100100-0002",
	runJSON: `{"runID":"20261202-100100-0002","pipeline":"loss","pipelineRun":"loss-2","status":"Succeeded","reason":"Completed",
		"params":{"epochs":"40","learning-rate":"0.5","seed":"42"},"started":"2026-12-02T10:01:00Z","finished":"2026-12-02T10:01:03Z",
		"tasks":[{"name":"train","status":"Succeeded"},{"name":"evaluate","status":"Succeeded"},{"name":"register","status":"Succeeded"}],
		"gate":{"task":"evaluate","metric":"log-loss","threshold":5,"value":3.06,"passed":true},"modelVersion":"1","metrics":"METRICS"}`,
	metricsJSON: `{"logLoss":3.06,"gate":{"metric":"log-loss","operator":"<","threshold":5,"value":3.06,"thresholdPassed":true,"passed":true}}`,
	logs:        []string{"train", "evaluate", "register"},
}, {
	id: "20261202-100200-0003",
	runJSON: `{"runID":"20261202-100200-0003","pipeline":"loss","pipelineRun":"loss-3","status":"Failed","reason":"Failed",
		"params":{"epochs":"30","learning-rate":"0.5","seed":"42"},"started":"2026-12-02T10:02:00Z","finished":"2026-12-02T10:02:02.5Z",
		"tasks":[{"name":"train","status":"Succeeded"},{"name":"evaluate","status":"Succeeded"},{"name":"register","status":"Skipped"}],
		"gate":{"task":"evaluate","metric":"log-loss","threshold":5,"value":3.2,"passed":false,
		"champion":{"version":1,"value":3.06,"minDelta":0,"passed":false}},"metrics":"METRICS"}`,
	metricsJSON: `{"logLoss":3.2,"gate":{"metric":"log-loss","operator":"<","threshold":5,"value":3.2,"thresholdPassed":true,
		"champion":{"version":1,"value":3.06,"source":"rescored","minDelta":0,"passed":false},"passed":false,
		"reasons":[{"check":"threshold","passed":true,"message":"log-loss 3.2 < 5"},
		{"check":"champion","passed":false,"message":"log-loss 3.2 does not beat champion v1 (3.06)"}]}}`,
	logs: []string{"train", "evaluate"},
}, {
	id: "20261202-100300-0004",
	runJSON: `{"runID":"20261202-100300-0004","pipeline":"loss","pipelineRun":"loss-4","status":"Succeeded","reason":"Completed",
		"params":{"epochs":"80","learning-rate":"0.1","seed":"42"},"started":"2026-12-02T10:03:00Z","finished":"2026-12-02T10:04:05Z",
		"tasks":[{"name":"train","status":"Succeeded"},{"name":"evaluate","status":"Succeeded"},{"name":"register","status":"Succeeded"}],
		"gate":{"task":"evaluate","metric":"log-loss","threshold":5,"value":0.9,"passed":true,
		"champion":{"version":1,"value":3.06,"minDelta":0,"passed":true}},"modelVersion":"2","metrics":"METRICS"}`,
	metricsJSON: `{"accuracy":0.9,"logLoss":0.9,"rows":10,"labels":["cat","dog"],"confusion":[[4,1],[0,5]],
		"perClass":[{"label":"cat","precision":1,"recall":0.8,"f1":0.8889,"support":5},{"label":"dog","precision":0.8333,"recall":1,"f1":0.9091,"support":5}],
		"gate":{"metric":"log-loss","operator":"<","threshold":5,"value":0.9,"thresholdPassed":true,
		"champion":{"version":1,"value":3.06,"source":"rescored","minDelta":0,"passed":true},"passed":true}}`,
	logs: []string{"train", "evaluate", "register"},
}, {
	id: "20261202-100500-0005",
	runJSON: `{"runID":"20261202-100500-0005","pipeline":"loss","pipelineRun":"loss-5","status":"Failed","reason":"Failed",
		"params":{"epochs":"80","learning-rate":"9","seed":"42"},"started":"2026-12-02T10:05:00Z","finished":"2026-12-02T10:05:00.4Z",
		"tasks":[{"name":"train","status":"Failed","message":"training diverged"},{"name":"evaluate","status":"Skipped"}],
		"gate":{"task":"evaluate","metric":"log-loss","threshold":5}}`,
	logs: []string{"train"},
}}

// TestReportInBrowser renders mlpipe report's page in headless Chromium and checks what it shows: the
// dumped DOM (numbers, run numbering, params, durations, gate reasons, per-class metrics, the confusion
// legend, log links that resolve) and a screenshot (the chart is on screen, whole; every run's mark is
// visible in its colour; the y axis is logarithmic for this loss and holds 9.47).
func TestReportInBrowser(t *testing.T) {
	browser := findChromium(t)
	state := t.TempDir()
	for _, r := range lossRuns {
		dir := filepath.Join(state, "runs", "loss", r.id)
		metrics := ""
		if r.metricsJSON != "" {
			metrics = writeFixture(t, filepath.Join(dir, "metrics.json"), r.metricsJSON)
		}
		writeFixture(t, filepath.Join(dir, "run.json"), strings.Replace(r.runJSON, "METRICS", metrics, 1))
		for _, task := range r.logs {
			writeFixture(t, filepath.Join(dir, "tasks", task, "log.txt"), task+" of "+r.id+"\n")
		}
	}
	out := filepath.Join(t.TempDir(), "report")
	root := commands.New()
	var stdout bytes.Buffer
	root.SetOut(&stdout)
	root.SetArgs([]string{"report", "--state-dir", state, "-o", out})
	if err := root.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("mlpipe report: %v", err)
	}
	page := "file://" + filepath.Join(out, "report.html")

	dom := runChromium(t, browser, "--dump-dom", page)
	checkDOM(t, dom, out)

	shotPath := filepath.Join(t.TempDir(), "shot.png")
	runChromium(t, browser, "--screenshot="+shotPath, "--window-size=1400,2400", page)
	if keep := os.Getenv("MLPIPE_REPORT_SCREENSHOT"); keep != "" {
		if b, err := os.ReadFile(shotPath); err == nil {
			_ = os.WriteFile(keep, b, 0o644)
		}
	}
	shot := readPNGRGBA(t, shotPath)
	chart := readPNGRGBA(t, filepath.Join(out, "report.png"))
	at, ok := locateImage(shot, chart)
	if !ok {
		t.Fatalf("the chart (report.png, %v) is not shown whole and unscaled in the screenshot (%v)", chart.Bounds().Size(), shot.Bounds().Size())
	}
	t.Logf("chart at %v in the screenshot", at)
	checkChart(t, shot, image.Rectangle{Min: at, Max: at.Add(image.Pt(850, chart.Bounds().Dy()))})
}

func checkDOM(t *testing.T, dom, out string) {
	t.Helper()
	if strings.Contains(dom, "%!") {
		t.Errorf("the page shows a formatting error: %s", regexp.MustCompile(`.{0,40}%!.{0,40}`).FindString(dom))
	}
	rows := map[int]string{}
	for _, m := range regexp.MustCompile(`(?s)<tr id="run-(\d+)">(.*?)</tr>`).FindAllStringSubmatch(dom, -1) {
		var n int
		fmt.Sscan(m[1], &n)
		rows[n] = visibleText(m[2])
	}
	want := map[int][]string{
		1: {"1 20261202-100000-0001 Failed", "1.25s", "epochs=1", "learning-rate=0.5", "9.4700", "failed: threshold", "✗ threshold: log-loss 9.4700 is not < 5"},
		2: {"2 20261202-100100-0002 Succeeded", "3s", "epochs=40", "3.0600", "passed", "✓ threshold: log-loss 3.0600 < 5", " 1 "},
		3: {"3 20261202-100200-0003 Failed", "2.5s", "3.2000", "failed: champion", "✓ log-loss 3.2 < 5", "✗ log-loss 3.2 does not beat champion v1 (3.06)"},
		4: {"4 20261202-100300-0004 Succeeded", "1m5s", "epochs=80", "learning-rate=0.1", "0.9000", "passed", "✓ champion: beats the champion v1 (log-loss 3.0600, rescored) by min-delta 0", " 2 "},
		5: {"5 20261202-100500-0005 Failed", "400ms", "learning-rate=9", "not evaluated"},
	}
	if len(rows) != len(want) {
		t.Errorf("the runs table shows rows %v, want 1..5", rowNumbers(rows))
	}
	for n, parts := range want {
		for _, p := range parts {
			if !strings.Contains(rows[n], p) {
				t.Errorf("run %d's row lacks %q: %s", n, p, rows[n])
			}
		}
	}
	for _, p := range []string{
		"Gate: log-loss < 5", "Params common to all runs: seed=42",
		"Metrics of run 4 (20261202-100300-0004)",
		"cat 1.0000 0.8000 0.8889 5", "dog 0.8333 1.0000 0.9091 5",
		"true \\ predicted cat dog cat 4 80% 1 20% dog 0 0% 5 100%",
		"Legend: rows are the true class, columns the predicted class", "0 … 5 rows",
	} {
		if !strings.Contains(visibleText(dom), p) {
			t.Errorf("the page lacks %q", p)
		}
	}
	links := regexp.MustCompile(`<a href="([^"]+/log\.txt)">`).FindAllStringSubmatch(dom, -1)
	if len(links) != 11 {
		t.Errorf("the page links %d task logs, want 11 (skipped tasks have none)", len(links))
	}
	for _, l := range links {
		if _, err := os.Stat(filepath.Join(out, filepath.FromSlash(l[1]))); err != nil {
			t.Errorf("log link %s does not resolve from the report folder: %v", l[1], err)
		}
	}
}

// The chart's colours (pkg/localrun/report/chart.go) and what a reader sees in this fixture: two passed
// runs, one over the threshold, one that lost to the champion, the champion v1 twice; each has one more
// mark in the legend.
var chartMarks = []struct {
	name  string
	color color.RGBA
	want  int
}{
	{"gate passed (green circles)", color.RGBA{0, 130, 0, 255}, 2 + 1},
	{"failed: threshold (red crosses)", color.RGBA{200, 0, 0, 255}, 1 + 1},
	{"failed: champion (orange triangles)", color.RGBA{230, 120, 0, 255}, 1 + 1},
	{"champion compared with (blue level dashes)", color.RGBA{30, 60, 200, 255}, 2 + 1},
}

func checkChart(t *testing.T, shot image.Image, area image.Rectangle) {
	t.Helper()
	centres := map[string][]image.Point{}
	for _, m := range chartMarks {
		marks := colorBlobs(shot, area, m.color)
		t.Logf("%s: %d marks at %v", m.name, len(marks), marks)
		if len(marks) != m.want {
			t.Errorf("%s: %d visible, want %d (the runs' marks and the legend's)", m.name, len(marks), m.want)
		}
		centres[m.name] = marks
	}
	// Run marks sorted by x (runs 1..4); the legend's marks are right of the plot, so the last by x.
	var runs []image.Point
	for _, name := range []string{chartMarks[0].name, chartMarks[1].name, chartMarks[2].name} {
		ps := centres[name]
		if len(ps) > 0 {
			runs = append(runs, ps[:len(ps)-1]...)
		}
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].X < runs[j].X })
	if len(runs) != 4 {
		t.Fatalf("run marks %v, want 4", runs)
	}
	// Equal x steps per run: numbered 1..4 on one axis.
	for i := 1; i < 3; i++ {
		if d1, d2 := runs[i].X-runs[i-1].X, runs[i+1].X-runs[i].X; absInt(d1-d2) > 3 {
			t.Errorf("run marks are not evenly spaced: %v", runs)
		}
	}
	// On a log axis the drop from 3.06 to 0.9 is log(3.06/0.9)/log(9.47/3.06) = 1.083 times the drop from
	// 9.47 to 3.06 (a linear axis would give 2.16/6.41 = 0.337).
	ratio := float64(runs[3].Y-runs[1].Y) / float64(runs[1].Y-runs[0].Y)
	t.Logf("y of 9.47, 3.06, 3.2, 0.9: %d, %d, %d, %d px; ratio %.3f", runs[0].Y, runs[1].Y, runs[2].Y, runs[3].Y, ratio)
	if math.Abs(ratio-1.083) > 0.1 {
		t.Errorf("the y axis is not logarithmic: ratio %.3f, want 1.083", ratio)
	}
	threshold, thresholdY := 0, 0
	for y := area.Min.Y; y < area.Max.Y; y++ {
		n := 0
		for x := area.Min.X; x < area.Max.X; x++ {
			if nearColor(shot.At(x, y), color.RGBA{130, 0, 160, 255}, 40) {
				n++
			}
		}
		if n > threshold {
			threshold, thresholdY = n, y
		}
	}
	// 5 lies log(9.47/5)/log(9.47/3.06) = 0.565 of the way from 9.47 down to 3.06.
	at := float64(thresholdY-runs[0].Y) / float64(runs[1].Y-runs[0].Y)
	t.Logf("threshold line: %d purple pixels in row %d, %.3f of the way from 9.47 to 3.06", threshold, thresholdY, at)
	if math.Abs(at-0.565) > 0.05 {
		t.Errorf("the threshold line is at %.3f of the way from 9.47 to 3.06, want 0.565", at)
	}
	if threshold < 200 { // dashes of 5 on, 3 off across a plot about 450 px wide
		t.Errorf("no dashed threshold line across the plot (at most %d purple pixels in a row)", threshold)
	}
}

// colorBlobs returns the centres of the 8-connected groups of at least 6 pixels near c within area, by x.
func colorBlobs(img image.Image, area image.Rectangle, c color.RGBA) []image.Point {
	seen := map[image.Point]bool{}
	var out []image.Point
	for y := area.Min.Y; y < area.Max.Y; y++ {
		for x := area.Min.X; x < area.Max.X; x++ {
			p := image.Pt(x, y)
			if seen[p] || !nearColor(img.At(x, y), c, 60) {
				continue
			}
			stack, n, sum := []image.Point{p}, 0, image.Point{}
			seen[p] = true
			for len(stack) > 0 {
				q := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				n, sum = n+1, sum.Add(q)
				for dy := -1; dy <= 1; dy++ {
					for dx := -1; dx <= 1; dx++ {
						r := q.Add(image.Pt(dx, dy))
						if r.In(area) && !seen[r] && nearColor(img.At(r.X, r.Y), c, 60) {
							seen[r] = true
							stack = append(stack, r)
						}
					}
				}
			}
			if n >= 6 {
				out = append(out, image.Pt(sum.X/n, sum.Y/n))
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].X < out[j].X })
	return out
}

func nearColor(c color.Color, want color.RGBA, tol float64) bool {
	r, g, b, _ := c.RGBA()
	dr, dg, db := float64(r>>8)-float64(want.R), float64(g>>8)-float64(want.G), float64(b>>8)-float64(want.B)
	return math.Sqrt(dr*dr+dg*dg+db*db) <= tol
}

// locateImage finds where chart is drawn, unscaled, in shot: the offset at which 400 of its non-white pixels match.
func locateImage(shot, chart image.Image) (image.Point, bool) {
	var samples []image.Point
	b := chart.Bounds()
	for y := b.Min.Y; y < b.Max.Y && len(samples) < 400; y += 7 {
		for x := b.Min.X; x < b.Max.X && len(samples) < 400; x += 13 {
			if !nearColor(chart.At(x, y), color.RGBA{255, 255, 255, 255}, 30) {
				samples = append(samples, image.Pt(x, y))
			}
		}
	}
	sb := shot.Bounds()
	for oy := 0; oy+b.Dy() <= sb.Dy(); oy++ {
		for ox := 0; ox+b.Dx() <= sb.Dx() && ox < 200; ox++ {
			ok := true
			for _, s := range samples {
				c := chart.At(s.X, s.Y).(color.RGBA)
				if !nearColor(shot.At(ox+s.X, oy+s.Y), c, 12) {
					ok = false
					break
				}
			}
			if ok {
				return image.Pt(ox, oy), true
			}
		}
	}
	return image.Point{}, false
}

// findChromium returns Debian's chromium, installing it with hack/install-chromium.sh when missing; without it
// the test skips (fails under MLPIPE_REQUIRE_TOOLS=1).
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	script := filepath.Join("..", "..", "hack", "install-chromium.sh")
	out, err := exec.Command(script).CombinedOutput()
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if p := lines[len(lines)-1]; err == nil && filepath.IsAbs(p) {
		return p
	}
	cluster.Unavailable(t, fmt.Sprintf("no headless Chromium: %s said %q (err %v); run it as root, or apt-get install chromium", script, strings.TrimSpace(string(out)), err))
	return ""
}

func runChromium(t *testing.T, browser string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--force-device-scale-factor=1",
		"--user-data-dir=" + t.TempDir(), "--no-first-run", "--disable-dev-shm-usage"}
	cmd := exec.CommandContext(ctx, browser, append(base, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		cluster.Unavailable(t, fmt.Sprintf("chromium %v could not run: %v\n%s", args, err, lastLines(stderr.String(), 10)))
	}
	return stdout.String()
}

func readPNGRGBA(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	// locateImage compares colors as RGBA.
	rgba := image.NewRGBA(img.Bounds())
	for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y++ {
		for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x++ {
			rgba.Set(x, y, img.At(x, y))
		}
	}
	return rgba
}

// visibleText is the visible text of an HTML fragment: tags dropped, entities of the page decoded, spaces collapsed.
func visibleText(s string) string {
	s = regexp.MustCompile(`(?s)<style.*?</style>|<[^>]+>`).ReplaceAllString(s, " ")
	s = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&", "&nbsp;", " ").Replace(s)
	return strings.Join(strings.Fields(s), " ")
}

func writeFixture(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func rowNumbers(m map[int]string) []int {
	var out []int
	for k := range m {
		out = append(out, k)
	}
	sort.Ints(out)
	return out
}

func absInt(i int) int {
	if i < 0 {
		return -i
	}
	return i
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
