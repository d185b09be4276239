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

// Package report renders recorded local runs: the gate metric across runs
// with its threshold, and the latest confusion matrix, as a PNG and a
// self-contained HTML page embedding it.
package report

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"image/color"
	"os"
	"path/filepath"

	"github.com/mlpipe/mlpipe/pkg/localrun"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Metrics is the part of a run's metrics.json the report reads; absent
// fields are tolerated.
type Metrics struct {
	// Accuracy is the share of rows predicted right.
	Accuracy *float64 `json:"accuracy"`
	// Labels name the rows and columns of Confusion.
	Labels []string `json:"labels"`
	// Confusion counts rows by [true class][predicted class].
	Confusion [][]int `json:"confusion"`
}

// Files are the written paths.
type Files struct {
	// HTML is the self-contained page.
	HTML string
	// PNG is the chart.
	PNG string
}

// Write renders runs (oldest first, one pipeline) into outDir.
func Write(runs []*localrun.Result, outDir string) (*Files, error) {
	if len(runs) == 0 {
		return nil, fmt.Errorf("no recorded runs to report on")
	}
	latest := runs[len(runs)-1]
	var m *Metrics
	for i := len(runs) - 1; i >= 0 && m == nil; i-- {
		if runs[i].Metrics != "" {
			m = readMetrics(runs[i].Metrics)
			if m != nil {
				latest = runs[i]
			}
		}
	}
	png, err := render(runs, m)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, err
	}
	f := &Files{HTML: filepath.Join(outDir, "report.html"), PNG: filepath.Join(outDir, "report.png")}
	if err := os.WriteFile(f.PNG, png, 0o644); err != nil {
		return nil, err
	}
	var page bytes.Buffer
	err = pageTmpl.Execute(&page, map[string]any{
		"Pipeline": runs[0].Pipeline, "Runs": runs, "Latest": latest,
		"PNG": template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png)),
	})
	if err != nil {
		return nil, err
	}
	return f, os.WriteFile(f.HTML, page.Bytes(), 0o644)
}

func readMetrics(path string) *Metrics {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var m Metrics
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	return &m
}

// render draws the metric history and, when known, the confusion matrix side by side.
func render(runs []*localrun.Result, m *Metrics) ([]byte, error) {
	history := plot.New()
	metric := "gate metric"
	var threshold *float64
	pts, passed, failed := plotter.XYs{}, plotter.XYs{}, plotter.XYs{}
	for i, r := range runs {
		if r.Gate == nil {
			continue
		}
		metric, threshold = r.Gate.Metric, r.Gate.Threshold
		if r.Gate.Value != nil {
			xy := plotter.XY{X: float64(i + 1), Y: *r.Gate.Value}
			pts = append(pts, xy)
			switch {
			case r.Gate.Passed == nil:
			case *r.Gate.Passed:
				passed = append(passed, xy)
			default:
				failed = append(failed, xy)
			}
		}
	}
	history.Title.Text = metric + " per run"
	history.X.Label.Text = "run"
	history.Y.Label.Text = metric
	if len(pts) > 1 {
		line, err := plotter.NewLine(pts)
		if err != nil {
			return nil, err
		}
		line.Color = color.Gray{Y: 120}
		history.Add(line)
	}
	for _, set := range []struct {
		xys    plotter.XYs
		legend string
		shape  draw.GlyphDrawer
		color  color.Color
		radius vg.Length
	}{
		{passed, "gate passed", draw.CircleGlyph{}, color.RGBA{G: 130, A: 255}, vg.Points(4)},
		{failed, "gate failed", draw.CrossGlyph{}, color.RGBA{R: 200, A: 255}, vg.Points(5)},
	} {
		if len(set.xys) == 0 {
			continue
		}
		sc, err := plotter.NewScatter(set.xys)
		if err != nil {
			return nil, err
		}
		sc.Shape, sc.Color, sc.Radius = set.shape, set.color, set.radius
		history.Add(sc)
		history.Legend.Add(set.legend, sc)
	}
	if threshold != nil {
		t := *threshold
		fn := plotter.NewFunction(func(float64) float64 { return t })
		fn.Color = color.RGBA{R: 200, A: 255}
		fn.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		history.Add(fn)
		history.Legend.Add(fmt.Sprintf("threshold %g", t), fn)
	}
	history.X.Min, history.X.Max = 0.5, float64(len(runs))+0.5
	history.X.Tick.Marker = runTicks(len(runs))
	history.Legend.Top = false
	history.Y.Min, history.Y.Max = 0, 1

	const w, h = 12 * vg.Inch, 5 * vg.Inch
	img := vgimg.New(w, h)
	dc := draw.New(img)
	plots := [][]*plot.Plot{{history, confusion(m)}}
	canvases := plot.Align(plots, draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Inch / 2}, dc)
	plots[0][0].Draw(canvases[0][0])
	plots[0][1].Draw(canvases[0][1])
	var buf bytes.Buffer
	png := vgimg.PngCanvas{Canvas: img}
	if _, err := png.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// grid adapts a confusion matrix to plotter.GridXYZ.
type grid struct{ m [][]int }

func (g grid) Dims() (c, r int)   { return len(g.m), len(g.m) }
func (g grid) Z(c, r int) float64 { return float64(g.m[len(g.m)-1-r][c]) }
func (g grid) X(c int) float64    { return float64(c) }
func (g grid) Y(r int) float64    { return float64(r) }

func confusion(m *Metrics) *plot.Plot {
	p := plot.New()
	p.Title.Text = "confusion matrix (latest run)"
	if m == nil || len(m.Confusion) == 0 {
		p.Title.Text += ": no metrics recorded"
		return p
	}
	n := len(m.Confusion)
	for _, row := range m.Confusion {
		if len(row) != n {
			p.Title.Text += ": not square"
			return p
		}
	}
	hm := plotter.NewHeatMap(grid{m.Confusion}, blues{})
	p.Add(hm)
	// Cell counts and every class name fit up to maxLabelled classes; beyond that the colours carry the
	// matrix and every k-th class is named.
	const maxLabelled = 20
	step := 1
	if n > maxLabelled {
		step = (n + maxLabelled - 1) / maxLabelled
		p.Title.Text += fmt.Sprintf(" (%d classes)", n)
	}
	var labels plotter.XYLabels
	for r := 0; r < n && n <= maxLabelled; r++ {
		for c := 0; c < n; c++ {
			labels.XYs = append(labels.XYs, plotter.XY{X: float64(c), Y: float64(n - 1 - r)})
			labels.Labels = append(labels.Labels, fmt.Sprint(m.Confusion[r][c]))
		}
	}
	if l, err := plotter.NewLabels(labels); err == nil {
		p.Add(l)
	}
	var names, ynames []plot.Tick
	for i := 0; i < n; i++ {
		label := fmt.Sprint(i)
		if i < len(m.Labels) {
			label = m.Labels[i]
		}
		if i%step != 0 {
			label = ""
		}
		names = append(names, plot.Tick{Value: float64(i), Label: label})
		ynames = append(ynames, plot.Tick{Value: float64(n - 1 - i), Label: label})
	}
	p.X.Tick.Marker = plot.ConstantTicks(names)
	p.Y.Tick.Marker = plot.ConstantTicks(ynames)
	p.X.Label.Text, p.Y.Label.Text = "predicted", "true"
	return p
}

// blues is a white-to-blue palette for the heat map.
type blues struct{}

func (blues) Colors() []color.Color {
	var cs []color.Color
	for i := 0; i < 16; i++ {
		v := uint8(255 - i*12)
		cs = append(cs, color.RGBA{R: v, G: uint8(255 - i*8), B: 255, A: 255})
	}
	return cs
}

var pageTmpl = template.Must(template.New("report").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>mlpipe report: {{.Pipeline}}</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{padding:4px 10px;border-bottom:1px solid #ddd;text-align:left}</style>
</head><body>
<h1>{{.Pipeline}}</h1>
<img alt="gate metric per run and confusion matrix" src="{{.PNG}}" style="max-width:100%">
<h2>Runs</h2>
<table><tr><th>#</th><th>run</th><th>status</th><th>started</th><th>gate</th><th>passed</th><th>model</th></tr>
{{range $i, $r := .Runs}}<tr><td>{{$i}}</td><td>{{$r.RunID}}</td><td>{{$r.Status}}</td><td>{{$r.Started.Format "2006-01-02 15:04:05"}}</td>
<td>{{with $r.Gate}}{{.Metric}} {{with .Value}}{{printf "%.4g" .}}{{end}}{{end}}</td><td>{{with $r.Gate}}{{with .Passed}}{{.}}{{end}}{{end}}</td><td>{{$r.ModelVersion}}</td></tr>
{{end}}</table>
<p>Confusion matrix from run {{.Latest.RunID}}.</p>
</body></html>
`))

// runTicks labels the run axis with whole run numbers, at most about ten of them.
func runTicks(n int) plot.Ticker {
	step := 1
	for n/step > 10 {
		step *= 2
	}
	return plot.TickerFunc(func(min, max float64) []plot.Tick {
		var ticks []plot.Tick
		for i := 1; i <= n; i++ {
			t := plot.Tick{Value: float64(i)}
			if (i-1)%step == 0 {
				t.Label = fmt.Sprint(i)
			}
			ticks = append(ticks, t)
		}
		return ticks
	})
}
