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
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/mlpipe/mlpipe/pkg/gate"
	"github.com/mlpipe/mlpipe/pkg/localrun"
)

// Evaluation is the part of a run's metrics.json (the evaluate step's report, copied into the run folder) the
// report reads. Every field is optional: a user's own evaluate script may write fewer.
type Evaluation struct {
	// Accuracy, Precision, Recall, F1 and LogLoss are the overall metrics (macro averages for P/R/F1).
	Accuracy  *float64 `json:"accuracy"`
	Precision *float64 `json:"precision"`
	Recall    *float64 `json:"recall"`
	F1        *float64 `json:"f1"`
	LogLoss   *float64 `json:"logLoss"`
	// Rows is the number of test rows scored.
	Rows *int `json:"rows"`
	// Labels name the rows and columns of Confusion.
	Labels []string `json:"labels"`
	// Confusion counts rows by [true class][predicted class].
	Confusion [][]int `json:"confusion"`
	// PerClass holds each class's one-vs-rest metrics.
	PerClass []ClassMetrics `json:"perClass"`
	// Gate is the evaluate step's decision.
	Gate *EvalGate `json:"gate"`
}

// ClassMetrics are one class's metrics.
type ClassMetrics struct {
	Label     string   `json:"label"`
	Precision *float64 `json:"precision"`
	Recall    *float64 `json:"recall"`
	F1        *float64 `json:"f1"`
	Support   *int     `json:"support"`
}

// EvalGate is metrics.json's gate: the threshold test, the champion comparison and, when the evaluate step
// writes them, its own reasons.
type EvalGate struct {
	Metric          string   `json:"metric"`
	Operator        string   `json:"operator"`
	Threshold       *float64 `json:"threshold"`
	Value           *float64 `json:"value"`
	ThresholdPassed *bool    `json:"thresholdPassed"`
	Champion        *struct {
		Version  int      `json:"version"`
		Value    *float64 `json:"value"`
		Source   string   `json:"source"`
		MinDelta *float64 `json:"minDelta"`
		Passed   *bool    `json:"passed"`
	} `json:"champion"`
	// ChampionSkipped says, in the step's words, why the registry's champion was not compared (it was trained
	// for another label, classes or features).
	ChampionSkipped string `json:"championSkipped"`
	Passed          *bool  `json:"passed"`
	// Reasons are the step's own words for its decision, read tolerantly: a list of strings, or of objects
	// with a message (message, reason, text or detail) and optionally passed (or ok).
	Reasons json.RawMessage `json:"reasons"`
}

// readEvaluation reads a metrics.json; nil when there is none or it is not JSON.
func readEvaluation(path string) *Evaluation {
	if path == "" {
		return nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var e Evaluation
	if json.Unmarshal(b, &e) != nil {
		return nil
	}
	return &e
}

// Outcome is how a run's gate ended, as the chart draws it.
type Outcome string

const (
	// OutcomeNone: the gate was not evaluated (the run failed before, or has no gate).
	OutcomeNone Outcome = ""
	// OutcomePassed: the model passed the gate.
	OutcomePassed Outcome = "passed"
	// OutcomeThreshold: the metric missed the threshold.
	OutcomeThreshold Outcome = "failed: threshold"
	// OutcomeChampion: the metric met the threshold but did not beat the champion.
	OutcomeChampion Outcome = "failed: champion"
	// OutcomeFailed: the gate failed and the run recorded no reason.
	OutcomeFailed Outcome = "failed"
)

// Reason is one check of the gate, in words.
type Reason struct {
	// Passed is nil when the source did not say.
	Passed *bool
	Text   string
}

// gateOutcome reads the gate of a run: the run record's decision, explained by metrics.json when present.
func gateOutcome(g *localrun.Gate, e *Evaluation) (Outcome, []Reason) {
	if g == nil || g.Passed == nil {
		return OutcomeNone, nil
	}
	var eg *EvalGate
	if e != nil {
		eg = e.Gate
	}
	reasons := stepReasons(eg)
	if len(reasons) == 0 && eg == nil {
		for _, why := range g.Reasons {
			reasons = append(reasons, Reason{Text: why})
		}
	}
	if len(reasons) == 0 {
		reasons = derivedReasons(g, eg)
	}
	skipped := g.ChampionSkipped
	if eg != nil {
		skipped = eg.ChampionSkipped
	}
	if skipped != "" {
		reasons = append(reasons, Reason{Text: skipped})
	}
	switch {
	case *g.Passed:
		return OutcomePassed, reasons
	case eg != nil && eg.ThresholdPassed != nil && !*eg.ThresholdPassed:
		return OutcomeThreshold, reasons
	case eg != nil && eg.ThresholdPassed != nil && eg.Champion != nil && eg.Champion.Passed != nil && !*eg.Champion.Passed:
		return OutcomeChampion, reasons
	case eg == nil && g.Champion != nil && !g.Champion.Passed:
		return OutcomeChampion, reasons
	}
	if len(reasons) == 0 {
		reasons = []Reason{{Passed: boolPtr(false), Text: "the gate failed; the run recorded no metrics.json to say why"}}
	}
	return OutcomeFailed, reasons
}

// stepReasons are the reasons the evaluate step wrote, if it wrote any.
func stepReasons(eg *EvalGate) []Reason {
	if eg == nil || len(eg.Reasons) == 0 {
		return nil
	}
	var texts []string
	if json.Unmarshal(eg.Reasons, &texts) == nil {
		var out []Reason
		for _, t := range texts {
			if t = strings.TrimSpace(t); t != "" {
				out = append(out, Reason{Text: t})
			}
		}
		return out
	}
	var objs []map[string]any
	if json.Unmarshal(eg.Reasons, &objs) != nil {
		return nil
	}
	var out []Reason
	for _, o := range objs {
		var r Reason
		for _, k := range []string{"message", "reason", "text", "detail"} {
			if s, ok := o[k].(string); ok && strings.TrimSpace(s) != "" {
				r.Text = strings.TrimSpace(s)
				break
			}
		}
		for _, k := range []string{"passed", "ok"} {
			if b, ok := o[k].(bool); ok {
				r.Passed = boolPtr(b)
				break
			}
		}
		if r.Text != "" {
			out = append(out, r)
		}
	}
	return out
}

// derivedReasons puts metrics.json's threshold test and champion comparison into words (or, without a
// metrics.json, the champion comparison the run record kept).
func derivedReasons(g *localrun.Gate, eg *EvalGate) []Reason {
	metric := g.Metric
	var out []Reason
	if eg != nil && eg.ThresholdPassed != nil && eg.Value != nil && eg.Threshold != nil {
		op := eg.Operator
		if op == "" {
			op = "vs"
		}
		text := fmt.Sprintf("threshold: %s %s %s %s", metric, gate.FormatMetric(*eg.Value), op, gate.Format(*eg.Threshold))
		if !*eg.ThresholdPassed {
			text = fmt.Sprintf("threshold: %s %s is not %s %s", metric, gate.FormatMetric(*eg.Value), op, gate.Format(*eg.Threshold))
		}
		out = append(out, Reason{Passed: boolPtr(*eg.ThresholdPassed), Text: text})
	}
	type champ struct {
		version         int
		value, minDelta float64
		source          string
		passed          bool
	}
	var c *champ
	switch {
	case eg != nil && eg.Champion != nil && eg.Champion.Value != nil && eg.Champion.Passed != nil:
		c = &champ{version: eg.Champion.Version, value: *eg.Champion.Value, source: eg.Champion.Source, passed: *eg.Champion.Passed}
		if eg.Champion.MinDelta != nil {
			c.minDelta = *eg.Champion.MinDelta
		}
	case g.Champion != nil:
		c = &champ{version: g.Champion.Version, value: g.Champion.Value, minDelta: g.Champion.MinDelta, passed: g.Champion.Passed}
	}
	if c != nil {
		source := ""
		if c.source != "" {
			source = ", " + c.source
		}
		verb := "beats"
		if !c.passed {
			verb = "does not beat"
		}
		out = append(out, Reason{Passed: boolPtr(c.passed), Text: fmt.Sprintf("champion: %s the champion v%d (%s %s%s) by min-delta %s",
			verb, c.version, metric, gate.FormatMetric(c.value), source, gate.Format(c.minDelta))})
	}
	return out
}

// championValue is the champion's value of the gate metric the run compared against, if any.
func championValue(g *localrun.Gate, e *Evaluation) (float64, int, bool) {
	if e != nil && e.Gate != nil && e.Gate.Champion != nil && e.Gate.Champion.Value != nil {
		return *e.Gate.Champion.Value, e.Gate.Champion.Version, true
	}
	if g != nil && g.Champion != nil {
		return g.Champion.Value, g.Champion.Version, true
	}
	return 0, 0, false
}

func boolPtr(b bool) *bool { return &b }
