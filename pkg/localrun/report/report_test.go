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

package report

import (
	"bytes"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mlpipe/mlpipe/pkg/localrun"
	"gonum.org/v1/plot/plotter"
)

// fixture records three runs of a pipeline gated on accuracy >= 0.75 as mlpipe run leaves them: run.json's
// fields, metrics.json as the evaluate step writes it, task logs (none for the cached preprocess of run 2).
func fixture(t *testing.T) []*localrun.Result {
	t.Helper()
	root := t.TempDir()
	th := 0.75
	t0 := time.Date(2026, 12, 2, 13, 12, 52, 0, time.UTC)
	mk := func(id string, start time.Time, dur time.Duration, status string, value float64, passed bool, params map[string]string) *localrun.Result {
		dir := filepath.Join(root, "runs", "churn", id)
		v := value
		return &localrun.Result{RunID: id, Pipeline: "churn", Dir: dir, Status: status, Started: start, Finished: start.Add(dur),
			Params: params, Gate: &localrun.Gate{Task: "evaluate", Metric: "accuracy", Threshold: &th, Value: &v, Passed: &passed}}
	}
	r1 := mk("r1", t0, 810*time.Millisecond, "Succeeded", 0.8354430379746836, true, map[string]string{"epochs": "40", "seed": "42"})
	r1.ModelVersion = "1"
	r1.Tasks = []localrun.TaskResult{{Name: "preprocess", Status: localrun.StatusSucceeded}, {Name: "train", Status: localrun.StatusSucceeded}}
	writeFile(t, r1.Dir, "tasks/preprocess/log.txt", "read 405 rows\n")
	writeFile(t, r1.Dir, "tasks/train/log.txt", "epoch 40/40 loss 0.3741\n")
	r1.Metrics = writeFile(t, r1.Dir, "metrics.json", `{"accuracy":0.8354430379746836,"precision":0.8,"recall":0.79,"f1":0.795,
		"logLoss":0.39,"rows":79,"labels":["no","yes"],"confusion":[[51,5],[8,15]],
		"perClass":[{"label":"no","precision":0.8644,"recall":0.9107,"f1":0.887,"support":56},{"label":"yes","precision":0.75,"recall":0.6522,"f1":0.6977,"support":23}],
		"gate":{"metric":"accuracy","operator":">=","threshold":0.75,"value":0.8354430379746836,"thresholdPassed":true,"passed":true}}`)

	// Run 2 met the threshold but lost to the champion (v1, 0.8354): the case the old chart showed as a
	// red cross above the threshold line.
	r2 := mk("r2", t0.Add(2*time.Second), 15490*time.Millisecond, "Failed", 0.8227848101265823, false, map[string]string{"epochs": "5", "seed": "42"})
	r2.Tasks = []localrun.TaskResult{{Name: "preprocess", Status: localrun.StatusCached, CachedFrom: "r1", Log: "tasks/preprocess/log.txt"},
		{Name: "train", Status: localrun.StatusSucceeded}}
	writeFile(t, r2.Dir, "tasks/train/log.txt", "epoch 5/5 loss 0.41\n")
	r2.Metrics = writeFile(t, r2.Dir, "metrics.json", `{"accuracy":0.8227848101265823,"labels":["no","yes"],"confusion":[[50,6],[8,15]],
		"perClass":[{"label":"no","precision":0.8621,"recall":0.8929,"f1":0.8772,"support":56},{"label":"yes","precision":0.7143,"recall":0.6522,"f1":0.6818,"support":23}],
		"gate":{"metric":"accuracy","operator":">=","threshold":0.75,"value":0.8227848101265823,"thresholdPassed":true,
		"champion":{"version":1,"value":0.8354430379746836,"source":"rescored","minDelta":0,"passed":false},"passed":false}}`)
	r2.Gate.Champion = &localrun.Champion{Version: 1, Value: 0.8354430379746836, Passed: false}

	// Run 3 missed the threshold; it has no metrics.json of its own explaining more than the record.
	r3 := mk("r3", t0.Add(time.Minute), 2*time.Minute+3400*time.Millisecond, "Failed", 0.62, false, map[string]string{"epochs": "1", "seed": "42"})
	r3.Metrics = writeFile(t, r3.Dir, "metrics.json", `{"accuracy":0.62,"gate":{"metric":"accuracy","operator":">=","threshold":0.75,"value":0.62,"thresholdPassed":false,"passed":false}}`)
	return []*localrun.Result{r1, r2, r3}
}

func writeFile(t *testing.T, dir, rel, text string) string {
	t.Helper()
	p := filepath.Join(dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestWritePage: the page's numbers are numbers (the gate cell read "accuracy %!g(*float64=0x…)"), runs are
// numbered from 1 as on the chart, each run shows its varying params, duration, gate outcome and reasons and
// links to logs that exist, and the latest run's per-class metrics and confusion matrix come with a legend.
func TestWritePage(t *testing.T) {
	out := filepath.Join(t.TempDir(), "report")
	files, err := Write(fixture(t), out, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(files.HTML)
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	if strings.Contains(html, "%!") {
		t.Errorf("page holds a formatting error: %s", regexp.MustCompile(`.{0,40}%!.{0,40}`).FindString(html))
	}
	for _, want := range []string{
		`<tr id="run-1"><td class="num">1</td>`, `<tr id="run-3"><td class="num">3</td>`,
		`<td class="num">0.8354</td>`, `<td class="num">0.8228</td>`, `<td class="num">0.6200</td>`,
		`<td class="num">810ms</td>`, `<td class="num">15.49s</td>`, `<td class="num">2m3s</td>`,
		`<code>epochs=5</code>`, `Params common to all runs: <code>seed=42</code>`,
		"failed: champion", "✓ threshold: accuracy 0.8228 &gt;= 0.75",
		"✗ champion: does not beat the champion v1 (accuracy 0.8354, rescored) by min-delta 0",
		"✗ threshold: accuracy 0.6200 is not &gt;= 0.75",
		"Gate: accuracy &gt;= 0.75",
		"<h2>Metrics of run 2 (r2)</h2>",
		`<tr><td>yes</td><td class="num">0.7143</td><td class="num">0.6522</td><td class="num">0.6818</td><td class="num">23</td></tr>`,
		"Legend: rows are the true class, columns the predicted class", "0 … 50 rows",
		"(cached from r1)",
	} {
		if !strings.Contains(html, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	links := regexp.MustCompile(`<a href="([^"]+log\.txt)">(\w+)</a>`).FindAllStringSubmatch(html, -1)
	if len(links) != 4 {
		t.Errorf("got %d log links, want 4 (r1 preprocess, r1 train, r2 preprocess from r1, r2 train): %v", len(links), links)
	}
	for _, l := range links {
		if _, err := os.Stat(filepath.Join(out, filepath.FromSlash(l[1]))); err != nil {
			t.Errorf("log link %s of task %s does not resolve from the report folder: %v", l[1], l[2], err)
		}
	}
	if !regexp.MustCompile(`href="[^"]*/runs/churn/r1/tasks/preprocess/log\.txt">preprocess</a> \(cached from r1\)`).MatchString(html) {
		t.Errorf("run 2's cached preprocess does not link to run 1's log")
	}
}

func TestYRange(t *testing.T) {
	tests := []struct {
		name     string
		metric   string
		values   []float64
		log      bool
		min, max float64
	}{
		// span 0.08: a tenth of it on each side.
		{"accuracy", "accuracy", []float64{0.85, 0.92, 0.9}, false, 0.843, 0.927},
		{"accuracy near 1 stays within 1", "accuracy", []float64{0.9, 1}, false, 0.89, 1},
		// the old fixed 0–1 axis left these off the chart.
		{"loss", "log-loss", []float64{3.06, 9.47, 5}, false, 2.419, 10.111},
		// log10(9.47/3.06) = 0.4907; a tenth of it is a factor 1.1196 on each side.
		{"loss on a log axis", "log-loss", []float64{3.06, 9.47}, true, 2.7331, 10.6026},
		{"one value", "accuracy", []float64{0.5}, false, 0.45, 0.55},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var xys plotter.XYs
			for _, v := range tt.values {
				xys = append(xys, plotter.XY{Y: v})
			}
			lo, hi := yRange(tt.metric, xys, tt.log)
			if math.Abs(lo-tt.min) > 1e-3 || math.Abs(hi-tt.max) > 1e-3 {
				t.Errorf("yRange = %.4f, %.4f; want %.4f, %.4f", lo, hi, tt.min, tt.max)
			}
		})
	}
}

func TestUseLog(t *testing.T) {
	xy := func(vs ...float64) plotter.XYs {
		var out plotter.XYs
		for _, v := range vs {
			out = append(out, plotter.XY{Y: v})
		}
		return out
	}
	tests := []struct {
		name   string
		scale  Scale
		metric string
		xys    plotter.XYs
		want   bool
	}{
		{"auto: a loss spanning 10x", ScaleAuto, "log-loss", xy(0.9, 9.47), true},
		{"auto: a loss spanning 3x", ScaleAuto, "log-loss", xy(3.06, 9.47), false},
		{"auto: a score", ScaleAuto, "accuracy", xy(0.01, 0.9), false},
		{"log asked", ScaleLog, "accuracy", xy(0.5, 0.9), true},
		{"log asked, a value not positive", ScaleLog, "r2", xy(-0.2, 0.9), false},
		{"linear asked", ScaleLinear, "log-loss", xy(0.9, 9.47), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := useLog(tt.scale, tt.metric, tt.xys); got != tt.want {
				t.Errorf("useLog = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestGateOutcome: reasons come from the evaluate step when it writes them (strings or objects), else from
// metrics.json's threshold test and champion comparison.
func TestGateOutcome(t *testing.T) {
	f, tr := false, true
	val, th := 0.82, 0.75
	g := &localrun.Gate{Metric: "accuracy", Value: &val, Threshold: &th, Passed: &f}
	tests := []struct {
		name    string
		eval    string
		want    Outcome
		reasons []string
	}{{
		name:    "step reasons as strings",
		eval:    `{"gate":{"thresholdPassed":true,"champion":{"version":2,"value":0.9,"passed":false},"reasons":["accuracy 0.82 >= 0.75","does not beat champion v2"]}}`,
		want:    OutcomeChampion,
		reasons: []string{"• accuracy 0.82 >= 0.75", "• does not beat champion v2"},
	}, {
		name:    "step reasons as objects",
		eval:    `{"gate":{"thresholdPassed":true,"reasons":[{"check":"threshold","passed":true,"message":"ok"},{"check":"champion","passed":false,"reason":"champion has other classes: not compared"}]}}`,
		want:    OutcomeFailed,
		reasons: []string{"✓ ok", "✗ champion has other classes: not compared"},
	}, {
		name:    "reasons of an unknown shape are left out",
		eval:    `{"gate":{"metric":"accuracy","operator":">=","threshold":0.75,"value":0.82,"thresholdPassed":true,"reasons":{"x":1},"champion":{"version":1,"value":0.83,"minDelta":0.01,"passed":false}}}`,
		want:    OutcomeChampion,
		reasons: []string{"✓ threshold: accuracy 0.8200 >= 0.75", "✗ champion: does not beat the champion v1 (accuracy 0.8300) by min-delta 0.01"},
	}, {
		name:    "champion not compared",
		eval:    `{"gate":{"thresholdPassed":false,"championSkipped":"champion v2 not compared: its classes are a, b, this model's no, yes; the gate decided on the threshold alone","reasons":["accuracy 0.8200 is not >= the threshold 0.9"]}}`,
		want:    OutcomeThreshold,
		reasons: []string{"• accuracy 0.8200 is not >= the threshold 0.9", "• champion v2 not compared: its classes are a, b, this model's no, yes; the gate decided on the threshold alone"},
	}, {
		name:    "no metrics.json",
		want:    OutcomeFailed,
		reasons: []string{"✗ the gate failed; the run recorded no metrics.json to say why"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e *Evaluation
			if tt.eval != "" {
				e = readEvaluation(writeFile(t, t.TempDir(), "metrics.json", tt.eval))
				if e == nil {
					t.Fatal("metrics.json not read")
				}
			}
			got, reasons := gateOutcome(g, e)
			var texts []string
			for _, r := range reasons {
				mark := "•"
				if r.Passed != nil {
					mark = map[bool]string{true: "✓", false: "✗"}[*r.Passed]
				}
				texts = append(texts, mark+" "+r.Text)
			}
			if got != tt.want || strings.Join(texts, "|") != strings.Join(tt.reasons, "|") {
				t.Errorf("gateOutcome = %q %q; want %q %q", got, texts, tt.want, tt.reasons)
			}
		})
	}
	if got, _ := gateOutcome(&localrun.Gate{Metric: "accuracy", Passed: &tr}, nil); got != OutcomePassed {
		t.Errorf("passed gate = %q", got)
	}
	if got, _ := gateOutcome(&localrun.Gate{Metric: "accuracy"}, nil); got != OutcomeNone {
		t.Errorf("gate not evaluated = %q", got)
	}
}

// TestChartTitleInside: the PNG keeps a white margin above its titles (they were cut at the top edge) and the
// titles are drawn below it.
func TestChartTitleInside(t *testing.T) {
	files, err := Write(fixture(t), t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(files.PNG)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	bounds := img.Bounds()
	firstInk := -1
	for y := bounds.Min.Y; y < bounds.Max.Y && firstInk < 0; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			if dark(img.At(x, y)) {
				firstInk = y
				break
			}
		}
	}
	// 1/6 inch at 96 dpi is 16 px.
	if firstInk < 12 || firstInk > 40 {
		t.Errorf("first dark pixel row = %d, want within 12..40 (a margin, then the titles)", firstInk)
	}
}

func dark(c color.Color) bool {
	r, g, b, _ := c.RGBA()
	return r>>8 < 100 && g>>8 < 100 && b>>8 < 100
}
