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

// Package report renders recorded local runs of one pipeline: report.png (the gate metric per run against its
// threshold and the champions it was compared with, and the latest confusion matrix) and report.html, a
// self-contained page that embeds the PNG and lists every run (number, params, duration, gate value and
// reasons, model version, links to the task logs), the latest run's per-class metrics and its confusion matrix.
package report

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html/template"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/mlpipe/mlpipe/pkg/gate"
	"github.com/mlpipe/mlpipe/pkg/localrun"
)

// Scale is the y-axis scale of the metric chart.
type Scale string

const (
	// ScaleAuto is log for a lower-is-better metric (a loss) whose values span a factor of 10 or more, else linear.
	ScaleAuto Scale = "auto"
	// ScaleLinear is a linear axis fitted to the values, the threshold and the champions.
	ScaleLinear Scale = "linear"
	// ScaleLog is a log axis; it falls back to linear when a value is not positive.
	ScaleLog Scale = "log"
)

// Scales lists the accepted Scale values.
var Scales = []Scale{ScaleAuto, ScaleLinear, ScaleLog}

// Options control a report.
type Options struct {
	// YScale is the metric axis' scale; "" means ScaleAuto.
	YScale Scale
}

// Files are the written paths.
type Files struct {
	// HTML is the self-contained page.
	HTML string
	// PNG is the chart.
	PNG string
}

// run is one recorded run as the report shows it.
type run struct {
	// N numbers the runs from 1, oldest first: the chart's x axis and the table's first column.
	N        int
	Result   *localrun.Result
	Eval     *Evaluation
	Outcome  Outcome
	Reasons  []Reason
	Duration string
	// Params are the params whose value differs between the runs (the others are listed once).
	Params []string
	Folder string
	Logs   []logLink
}

type logLink struct {
	Task, Href, Note string
}

// Write renders runs (oldest first, one pipeline) into outDir.
func Write(runs []*localrun.Result, outDir string, o Options) (*Files, error) {
	if len(runs) == 0 {
		return nil, fmt.Errorf("no recorded runs to report on")
	}
	scale := o.YScale
	if scale == "" {
		scale = ScaleAuto
	}
	if !validScale(scale) {
		return nil, fmt.Errorf("unknown y-axis scale %q (want one of %s)", scale, joinScales())
	}
	absOut, err := filepath.Abs(outDir)
	if err != nil {
		return nil, err
	}
	common, varying := splitParams(runs)
	rows := make([]*run, len(runs))
	for i, r := range runs {
		rows[i] = newRun(i+1, r, varying, absOut)
	}
	latest := latestMetrics(rows)
	png, err := render(rows, latest, scale)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(absOut, 0o755); err != nil {
		return nil, err
	}
	f := &Files{HTML: filepath.Join(outDir, "report.html"), PNG: filepath.Join(outDir, "report.png")}
	if err := os.WriteFile(f.PNG, png, 0o644); err != nil {
		return nil, err
	}
	var page bytes.Buffer
	err = pageTmpl.Execute(&page, map[string]any{
		"Pipeline": runs[0].Pipeline, "Runs": rows, "Latest": latest, "Common": common,
		"Gate": gateRule(rows), "Matrix": matrix(latest),
		"PNG": template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png)),
	})
	if err != nil {
		return nil, err
	}
	return f, os.WriteFile(f.HTML, page.Bytes(), 0o644)
}

// latestMetrics is the latest run whose metrics.json has a confusion matrix or per-class metrics, else the
// latest with any metrics.json; nil when no run has one.
func latestMetrics(rows []*run) *run {
	var any *run
	for i := len(rows) - 1; i >= 0; i-- {
		e := rows[i].Eval
		if e == nil {
			continue
		}
		if len(e.Confusion) > 0 || len(e.PerClass) > 0 {
			return rows[i]
		}
		if any == nil {
			any = rows[i]
		}
	}
	return any
}

func validScale(s Scale) bool {
	for _, v := range Scales {
		if s == v {
			return true
		}
	}
	return false
}

func joinScales() string {
	var s []string
	for _, v := range Scales {
		s = append(s, string(v))
	}
	return strings.Join(s, ", ")
}

func newRun(n int, r *localrun.Result, varying []string, absOut string) *run {
	row := &run{N: n, Result: r, Eval: readEvaluation(r.Metrics), Folder: href(absOut, r.Dir)}
	row.Outcome, row.Reasons = gateOutcome(r.Gate, row.Eval)
	if !r.Started.IsZero() && !r.Finished.IsZero() {
		row.Duration = localrun.FormatDuration(r.Finished.Sub(r.Started))
	}
	for _, k := range varying {
		v, ok := r.Params[k]
		if !ok {
			v = "(unset)"
		}
		row.Params = append(row.Params, k+"="+v)
	}
	for i := range r.Tasks {
		t := &r.Tasks[i]
		if t.Status == localrun.StatusSkipped {
			continue
		}
		l := logLink{Task: t.Name}
		if t.Status == localrun.StatusCached {
			l.Note = "cached from " + t.CachedFrom
		}
		if p := localrun.TaskLog(r, t); p != "" {
			l.Href = href(absOut, p)
		} else {
			l.Note = strings.TrimSpace(l.Note + " no log")
		}
		row.Logs = append(row.Logs, l)
	}
	return row
}

// href is a link from the report folder to path: relative when it can be, else a file:// URL.
func href(absOut, path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return ""
	}
	if rel, err := filepath.Rel(absOut, abs); err == nil {
		return (&url.URL{Path: filepath.ToSlash(rel)}).String()
	}
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String()
}

// splitParams returns the params every run had with the same value ("k=v", sorted) and the names of the others.
func splitParams(runs []*localrun.Result) (common []string, varying []string) {
	names := map[string]bool{}
	for _, r := range runs {
		for k := range r.Params {
			names[k] = true
		}
	}
	var sorted []string
	for k := range names {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	for _, k := range sorted {
		v, same := runs[0].Params[k]
		for _, r := range runs[1:] {
			if w, ok := r.Params[k]; ok != same || w != v {
				same = false
				break
			}
		}
		if same {
			common = append(common, k+"="+v)
		} else {
			varying = append(varying, k)
		}
	}
	return common, varying
}

// gateRule describes the gate of the latest run that has one ("accuracy >= 0.75"), with the operator of the
// latest metrics.json that names one (the run record has none).
func gateRule(rows []*run) string {
	op := ""
	for i := len(rows) - 1; i >= 0 && op == ""; i-- {
		if e := rows[i].Eval; e != nil && e.Gate != nil {
			op = e.Gate.Operator
		}
	}
	for i := len(rows) - 1; i >= 0; i-- {
		g := rows[i].Result.Gate
		if g == nil {
			continue
		}
		if g.Threshold == nil {
			return g.Metric
		}
		if op == "" {
			op = "vs"
		}
		return g.Metric + " " + op + " " + gate.Format(*g.Threshold)
	}
	return ""
}

// cell is one confusion-matrix cell as the page draws it.
type cell struct {
	Count int
	// Share is the cell's share of its true class (its row), in percent.
	Share string
	// Shade is the background colour: white for 0 up to dark blue for the largest count.
	Shade template.CSS
	// Dark is true when the shade needs white text.
	Dark bool
	// Diagonal marks a correct prediction.
	Diagonal bool
}

type matrixView struct {
	Labels []string
	Rows   [][]cell
	Max    int
	// LowShade and HighShade are the legend's ends.
	LowShade, HighShade template.CSS
}

// matrix lays out the latest run's confusion matrix for the page; nil when it has none (or it is not square).
func matrix(latest *run) *matrixView {
	if latest == nil || latest.Eval == nil || len(latest.Eval.Confusion) == 0 {
		return nil
	}
	conf := latest.Eval.Confusion
	n := len(conf)
	m := &matrixView{LowShade: shade(0), HighShade: shade(1)}
	for _, row := range conf {
		if len(row) != n {
			return nil
		}
		for _, v := range row {
			m.Max = max(m.Max, v)
		}
	}
	for i := 0; i < n; i++ {
		label := fmt.Sprint(i)
		if i < len(latest.Eval.Labels) {
			label = latest.Eval.Labels[i]
		}
		m.Labels = append(m.Labels, label)
	}
	for r, row := range conf {
		total := 0
		for _, v := range row {
			total += v
		}
		var cells []cell
		for c, v := range row {
			share := "-"
			if total > 0 {
				share = fmt.Sprintf("%.0f%%", 100*float64(v)/float64(total))
			}
			frac := 0.0
			if m.Max > 0 {
				frac = float64(v) / float64(m.Max)
			}
			cells = append(cells, cell{Count: v, Share: share, Shade: shade(frac), Dark: frac > 0.55, Diagonal: r == c})
		}
		m.Rows = append(m.Rows, cells)
	}
	return m
}

// shade is the heat colour of frac in [0, 1]: the same white-to-blue ramp as the PNG's matrix.
func shade(frac float64) template.CSS {
	c := heat(frac)
	return template.CSS(fmt.Sprintf("rgb(%d,%d,%d)", c.R, c.G, c.B))
}

func fmtPtr(f *float64) string {
	if f == nil {
		return "-"
	}
	return gate.FormatMetric(*f)
}

func fmtInt(i *int) string {
	if i == nil {
		return "-"
	}
	return fmt.Sprint(*i)
}

var pageTmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"metric": fmtPtr, "count": fmtInt,
	"value": func(g *localrun.Gate) string {
		if g == nil {
			return ""
		}
		return fmtPtr(g.Value)
	},
	"mark": func(r Reason) string {
		switch {
		case r.Passed == nil:
			return "•"
		case *r.Passed:
			return "✓"
		}
		return "✗"
	},
}).Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>mlpipe report: {{.Pipeline}}</title>
<style>
body{font-family:sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin-bottom:1.5em}
td,th{padding:4px 10px;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}
td.num,th.num{text-align:right}
ul.reasons{margin:0;padding-left:1.2em}
.passed{color:#006e00}.failed{color:#b40000}
table.confusion td{text-align:center;min-width:4em;border:1px solid #ccc}
table.confusion td.diag{outline:2px solid #006e00;outline-offset:-3px}
.dark{color:#fff}
.ramp{display:inline-block;width:12em;height:1em;vertical-align:middle;border:1px solid #ccc}
</style>
</head><body>
<h1>{{.Pipeline}}: {{len .Runs}} recorded run{{if ne (len .Runs) 1}}s{{end}}</h1>
{{with .Gate}}<p id="gate-rule">Gate: {{.}}</p>{{end}}
<img id="chart" alt="gate metric per run and the latest confusion matrix" src="{{.PNG}}" style="max-width:100%">
<h2>Runs</h2>
{{with .Common}}<p id="common-params">Params common to all runs: {{range $i, $p := .}}{{if $i}}, {{end}}<code>{{$p}}</code>{{end}}</p>{{end}}
<table id="runs"><thead><tr><th class="num">#</th><th>run</th><th>status</th><th>started</th><th class="num">duration</th><th>params</th><th class="num">gate value</th><th>gate</th><th>model</th><th>logs</th></tr></thead><tbody>
{{range .Runs}}<tr id="run-{{.N}}"><td class="num">{{.N}}</td><td><a href="{{.Folder}}">{{.Result.RunID}}</a></td><td>{{.Result.Status}}</td><td>{{if not .Result.Started.IsZero}}{{.Result.Started.Format "2006-01-02 15:04:05"}}{{end}}</td><td class="num">{{.Duration}}</td>
<td>{{range $i, $p := .Params}}{{if $i}}<br>{{end}}<code>{{$p}}</code>{{end}}</td>
<td class="num">{{value .Result.Gate}}</td>
<td>{{if .Outcome}}<span class="{{if eq .Outcome "passed"}}passed{{else}}failed{{end}}">{{.Outcome}}</span>{{else}}not evaluated{{end}}{{with .Reasons}}<ul class="reasons">{{range .}}<li>{{mark .}} {{.Text}}</li>{{end}}</ul>{{end}}</td>
<td>{{.Result.ModelVersion}}</td>
<td>{{range $i, $l := .Logs}}{{if $i}}<br>{{end}}{{if $l.Href}}<a href="{{$l.Href}}">{{$l.Task}}</a>{{else}}{{$l.Task}}{{end}}{{with $l.Note}} ({{.}}){{end}}{{end}}</td></tr>
{{end}}</tbody></table>
{{with .Latest}}<h2>Metrics of run {{.N}} ({{.Result.RunID}})</h2>
{{with .Eval}}<table id="metrics"><tr><th>accuracy</th><th>precision</th><th>recall</th><th>F1</th><th>log loss</th><th>test rows</th></tr>
<tr><td>{{metric .Accuracy}}</td><td>{{metric .Precision}}</td><td>{{metric .Recall}}</td><td>{{metric .F1}}</td><td>{{metric .LogLoss}}</td><td>{{count .Rows}}</td></tr></table>
{{with .PerClass}}<h3>Per class</h3>
<table id="per-class"><thead><tr><th>class</th><th class="num">precision</th><th class="num">recall</th><th class="num">F1</th><th class="num">support</th></tr></thead><tbody>
{{range .}}<tr><td>{{.Label}}</td><td class="num">{{metric .Precision}}</td><td class="num">{{metric .Recall}}</td><td class="num">{{metric .F1}}</td><td class="num">{{count .Support}}</td></tr>
{{end}}</tbody></table>{{end}}{{end}}{{end}}
{{with .Matrix}}<h3>Confusion matrix</h3>
<table id="confusion" class="confusion"><tr><th>true \ predicted</th>{{range .Labels}}<th>{{.}}</th>{{end}}</tr>
{{range $r, $row := .Rows}}<tr><th>{{index $.Matrix.Labels $r}}</th>{{range $row}}<td class="{{if .Diagonal}}diag{{end}}{{if .Dark}} dark{{end}}" style="background:{{.Shade}}">{{.Count}}<br><small>{{.Share}}</small></td>{{end}}</tr>
{{end}}</table>
<p id="confusion-legend">Legend: rows are the true class, columns the predicted class; each cell counts test rows, with its share of the true class below. <span class="ramp" style="background:linear-gradient(to right,{{.LowShade}},{{.HighShade}})"></span> 0 … {{.Max}} rows. Green outline: correct predictions (the diagonal).</p>
{{end}}
</body></html>
`))
