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
	"fmt"
	"image/color"
	"math"

	"github.com/mlpipe/mlpipe/pkg/gate"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// The chart's marks, one colour each, so that a reader (and the browser test) can tell them apart.
var (
	colorPassed          = color.RGBA{R: 0, G: 130, B: 0, A: 255}
	colorFailedThreshold = color.RGBA{R: 200, G: 0, B: 0, A: 255}
	colorFailedChampion  = color.RGBA{R: 230, G: 120, B: 0, A: 255}
	colorChampionMark    = color.RGBA{R: 30, G: 60, B: 200, A: 255}
	colorThresholdLine   = color.RGBA{R: 130, G: 0, B: 160, A: 255}
)

// Chart size: the metric plot, its legend beside it and the confusion matrix, inside a margin that keeps the
// titles whole.
const (
	chartWidth, chartHeight = 13 * vg.Inch, 5.2 * vg.Inch
	chartMargin             = vg.Inch / 6
	historyWidth            = 6.3 * vg.Inch
	legendWidth             = 2.1 * vg.Inch
)

// render draws the PNG.
func render(rows []*run, latest *run, scale Scale) ([]byte, error) {
	history, legend, err := historyPlot(rows, scale)
	if err != nil {
		return nil, err
	}
	img := vgimg.New(chartWidth, chartHeight)
	dc := draw.New(img)
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	inner := draw.Crop(dc, chartMargin, -chartMargin, chartMargin, -chartMargin)
	left := inner.Min.X
	history.Draw(draw.Canvas{Canvas: inner.Canvas, Rectangle: vg.Rectangle{Min: vg.Point{X: left, Y: inner.Min.Y}, Max: vg.Point{X: left + historyWidth, Y: inner.Max.Y}}})
	legendArea := vg.Rectangle{Min: vg.Point{X: left + historyWidth + vg.Inch/8, Y: inner.Min.Y}, Max: vg.Point{X: left + historyWidth + legendWidth, Y: inner.Max.Y - vg.Inch/3}}
	legend.Draw(draw.Canvas{Canvas: inner.Canvas, Rectangle: legendArea})
	confusionArea := vg.Rectangle{Min: vg.Point{X: legendArea.Max.X + vg.Inch/4, Y: inner.Min.Y}, Max: inner.Max}
	confusion(latest).Draw(draw.Canvas{Canvas: inner.Canvas, Rectangle: confusionArea})
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// historyPlot plots the gate metric of each run (x: the run's number) by outcome, the threshold, and the
// champion each run was compared with; its legend is returned apart, to be drawn beside the plot.
func historyPlot(rows []*run, scale Scale) (*plot.Plot, plot.Legend, error) {
	p := plot.New()
	legend := plot.NewLegend()
	legend.Top, legend.Left = true, true
	legend.TextStyle.Font.Size = vg.Points(11)
	legend.Padding = vg.Points(4)
	metric := "gate metric"
	var threshold *float64
	var all, line plotter.XYs
	marks := map[Outcome]plotter.XYs{}
	var champions plotter.XYs
	for _, r := range rows {
		g := r.Result.Gate
		if g == nil {
			continue
		}
		metric = g.Metric
		if g.Threshold != nil {
			threshold = g.Threshold
		}
		if v, version, ok := championValue(g, r.Eval); ok && version > 0 {
			champions = append(champions, plotter.XY{X: float64(r.N), Y: v})
		}
		if g.Value == nil {
			continue
		}
		xy := plotter.XY{X: float64(r.N), Y: *g.Value}
		line = append(line, xy)
		marks[r.Outcome] = append(marks[r.Outcome], xy)
	}
	all = append(all, line...)
	all = append(all, champions...)
	if threshold != nil {
		all = append(all, plotter.XY{Y: *threshold})
	}
	logScale := useLog(scale, metric, all)
	if len(line) > 1 {
		l, err := plotter.NewLine(line)
		if err != nil {
			return nil, legend, err
		}
		l.Color = color.Gray{Y: 150}
		p.Add(l)
	}
	for _, set := range []struct {
		outcome Outcome
		legend  string
		shape   draw.GlyphDrawer
		color   color.Color
		radius  vg.Length
	}{
		{OutcomePassed, "gate passed", draw.CircleGlyph{}, colorPassed, vg.Points(4.5)},
		{OutcomeThreshold, "failed: threshold", thickCross{}, colorFailedThreshold, vg.Points(5)},
		{OutcomeFailed, "failed (no reason recorded)", thickCross{}, colorFailedThreshold, vg.Points(5)},
		{OutcomeChampion, "failed: champion not beaten", draw.PyramidGlyph{}, colorFailedChampion, vg.Points(5.5)},
		{OutcomeNone, "not evaluated", draw.SquareGlyph{}, color.Gray{Y: 120}, vg.Points(3.5)},
	} {
		xys := marks[set.outcome]
		if len(xys) == 0 {
			continue
		}
		sc, err := plotter.NewScatter(xys)
		if err != nil {
			return nil, legend, err
		}
		sc.Shape, sc.Color, sc.Radius = set.shape, set.color, set.radius
		p.Add(sc)
		legend.Add(set.legend, sc)
	}
	if len(champions) > 0 {
		sc, err := plotter.NewScatter(champions)
		if err != nil {
			return nil, legend, err
		}
		sc.Shape, sc.Color, sc.Radius = championDash{}, colorChampionMark, vg.Points(4)
		p.Add(sc)
		legend.Add("champion to beat", sc)
	}
	if threshold != nil {
		t := *threshold
		fn := plotter.NewFunction(func(float64) float64 { return t })
		fn.Color = colorThresholdLine
		fn.Width = vg.Points(1.2)
		fn.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
		p.Add(fn)
		legend.Add("threshold "+formatTick(t), fn)
	}
	p.Title.Text = metric + " per run"
	p.Title.Padding = vg.Points(6)
	p.Title.TextStyle.Font.Size = vg.Points(14)
	p.X.Label.Text = "run #"
	p.Y.Label.Text = metric
	p.X.Min, p.X.Max = 0.5, float64(len(rows))+0.5
	p.X.Tick.Marker = runTicks(len(rows))
	p.Y.Min, p.Y.Max = yRange(metric, all, logScale)
	if logScale {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = logTicks{}
		p.Y.Label.Text += " (log scale)"
	}
	return p, legend, nil
}

// thickCross is draw.CrossGlyph with a line a reader can see (CrossGlyph strokes 0.5 pt).
type thickCross struct{}

// DrawGlyph implements draw.GlyphDrawer.
func (thickCross) DrawGlyph(c *draw.Canvas, sty draw.GlyphStyle, pt vg.Point) {
	r := sty.Radius * 0.7071
	c.StrokeLine2(draw.LineStyle{Color: sty.Color, Width: vg.Points(2)}, pt.X-r, pt.Y-r, pt.X+r, pt.Y+r)
	c.StrokeLine2(draw.LineStyle{Color: sty.Color, Width: vg.Points(2)}, pt.X-r, pt.Y+r, pt.X+r, pt.Y-r)
}

// championDash marks the champion's value as a short level line just left of the run's mark, so that a
// candidate close to the champion does not hide it.
type championDash struct{}

// DrawGlyph implements draw.GlyphDrawer.
func (championDash) DrawGlyph(c *draw.Canvas, sty draw.GlyphStyle, pt vg.Point) {
	c.StrokeLine2(draw.LineStyle{Color: sty.Color, Width: vg.Points(2.5)}, pt.X-3*sty.Radius, pt.Y, pt.X-sty.Radius, pt.Y)
}

// useLog decides the y scale: ScaleLog unless a value is not positive; ScaleAuto for a lower-is-better metric
// whose values span a factor of ten or more.
func useLog(scale Scale, metric string, xys plotter.XYs) bool {
	if scale == ScaleLinear || len(xys) == 0 {
		return false
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, xy := range xys {
		lo, hi = math.Min(lo, xy.Y), math.Max(hi, xy.Y)
	}
	if lo <= 0 {
		return false
	}
	return scale == ScaleLog || (gate.LowerIsBetter(metric) && hi/lo >= 10)
}

// yRange fits the y axis to the plotted values with a margin of a tenth of their span (of the value itself when
// all are equal); a score whose values all lie in [0, 1] keeps its axis within [0, 1].
func yRange(metric string, xys plotter.XYs, logScale bool) (float64, float64) {
	if len(xys) == 0 {
		return 0, 1
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, xy := range xys {
		lo, hi = math.Min(lo, xy.Y), math.Max(hi, xy.Y)
	}
	if logScale {
		span := math.Max(math.Log10(hi/lo), 0.2)
		f := math.Pow(10, span/10)
		return lo / f, hi * f
	}
	span := hi - lo
	if span == 0 {
		span = math.Max(math.Abs(hi), 0.1)
	}
	lo, hi = lo-span/10, hi+span/10
	if !gate.LowerIsBetter(metric) && lo >= -span/10-1e-12 && hi <= 1+span/10+1e-12 {
		lo, hi = math.Max(lo, 0), math.Min(hi, 1)
	}
	return lo, hi
}

// logTicks labels 1, 2 and 5 times each power of ten in the range (plot.LogTicks labels powers of ten only,
// which leaves a range such as 2.5–12 with one label).
type logTicks struct{}

func (logTicks) Ticks(min, max float64) []plot.Tick {
	var ticks []plot.Tick
	for e := math.Floor(math.Log10(min)); math.Pow(10, e) <= max; e++ {
		for _, m := range []float64{1, 2, 5} {
			if v := m * math.Pow(10, e); v >= min && v <= max {
				ticks = append(ticks, plot.Tick{Value: v, Label: formatTick(v)})
			}
		}
	}
	if len(ticks) < 2 {
		ticks = append(ticks, plot.Tick{Value: min, Label: formatTick(min)}, plot.Tick{Value: max, Label: formatTick(max)})
	}
	return ticks
}

func formatTick(v float64) string { return fmt.Sprintf("%.3g", v) }

// runTicks labels the run axis with whole run numbers (1 is the oldest run), at most about ten of them.
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

// grid adapts a confusion matrix to plotter.GridXYZ.
type grid struct{ m [][]int }

func (g grid) Dims() (c, r int)   { return len(g.m), len(g.m) }
func (g grid) Z(c, r int) float64 { return float64(g.m[len(g.m)-1-r][c]) }
func (g grid) X(c int) float64    { return float64(c) }
func (g grid) Y(r int) float64    { return float64(r) }

// confusion plots the latest run's confusion matrix as a heat map with the counts in the cells.
func confusion(latest *run) *plot.Plot {
	p := plot.New()
	p.Title.Padding = vg.Points(6)
	p.Title.TextStyle.Font.Size = vg.Points(14)
	if latest == nil || latest.Eval == nil || len(latest.Eval.Confusion) == 0 {
		p.Title.Text = "confusion matrix: no metrics recorded"
		return p
	}
	m := latest.Eval
	p.Title.Text = fmt.Sprintf("confusion matrix, run %d", latest.N)
	n := len(m.Confusion)
	maxCount := 0
	for _, row := range m.Confusion {
		if len(row) != n {
			p.Title.Text += ": not square"
			return p
		}
		for _, v := range row {
			maxCount = max(maxCount, v)
		}
	}
	hm := plotter.NewHeatMap(grid{m.Confusion}, heatPalette{})
	hm.Min, hm.Max = 0, math.Max(float64(maxCount), 1)
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
		for i, r := 0, 0; r < n && n <= maxLabelled; r++ {
			for c := 0; c < n; c, i = c+1, i+1 {
				if maxCount > 0 && float64(m.Confusion[r][c])/float64(maxCount) > 0.55 {
					l.TextStyle[i].Color = color.White
				}
				l.TextStyle[i].XAlign, l.TextStyle[i].YAlign = -0.5, -0.5
			}
		}
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
	p.X.Label.Text = fmt.Sprintf("predicted class (white = 0, darkest = %d rows)", maxCount)
	p.Y.Label.Text = "true class"
	return p
}

// heatPalette is the white-to-blue ramp of the heat map; the page's confusion table uses the same (heat).
type heatPalette struct{}

func (heatPalette) Colors() []color.Color {
	const n = 16
	var cs []color.Color
	for i := 0; i < n; i++ {
		cs = append(cs, heat(float64(i)/(n-1)))
	}
	return cs
}

// heat maps frac in [0, 1] from white to dark blue.
func heat(frac float64) color.RGBA {
	frac = math.Max(0, math.Min(1, frac))
	return color.RGBA{R: uint8(255 - 225*frac), G: uint8(255 - 170*frac), B: uint8(255 - 75*frac), A: 255}
}
