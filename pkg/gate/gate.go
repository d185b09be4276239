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

// Package gate holds the rules of the evaluation gate: its direction, shared by the spec's validation and the
// evaluate step (which also sees operators passed at run time, e.g. tkn pipeline start -p operator=...), the
// decision the evaluate step reports as its passed result, and the CEL when expression that decides the same
// from the evaluate step's metric-value and champion-value results.
package gate

import (
	"fmt"
	"strconv"
)

// The evaluate step's results the gate reads.
const (
	// ResultMetricValue is the candidate's value of the gate metric.
	ResultMetricValue = "metric-value"
	// ResultChampionValue is the champion's value of the gate metric on the same test split; empty when no
	// champion was compared (none in the registry, or one trained for another label, classes or features).
	ResultChampionValue = "champion-value"
	// ResultPassed is "true" when the gate passed, else "false".
	ResultPassed = "passed"
)

// LowerIsBetter reports whether smaller values of the metric are better (a loss).
func LowerIsBetter(metric string) bool { return metric == "log-loss" }

// CheckDirection refuses an operator that makes the gate pass worse models: > or >= on a loss, < or <= on a
// score. The error says what to use instead.
func CheckDirection(metric, operator string) error {
	lower := LowerIsBetter(metric)
	switch {
	case lower && (operator == ">" || operator == ">="):
		return fmt.Errorf("%q passes models whose %s is above the threshold, but a higher %s is worse: use \"<=\" (or \"<\")", operator, metric, metric)
	case !lower && (operator == "<" || operator == "<="):
		return fmt.Errorf("%q passes models whose %s is below the threshold, but a lower %s is worse: use \">=\" (or \">\")", operator, metric, metric)
	}
	return nil
}

// Compare applies a comparison operator: value <operator> threshold.
func Compare(value float64, operator string, threshold float64) (bool, error) {
	switch operator {
	case ">":
		return value > threshold, nil
	case ">=":
		return value >= threshold, nil
	case "<":
		return value < threshold, nil
	case "<=":
		return value <= threshold, nil
	}
	return false, fmt.Errorf("invalid operator %q (want one of >, >=, <, <=)", operator)
}

// BeatsChampion reports whether value is strictly better than the champion's by more than minDelta, in the
// metric's direction: value > champion+minDelta, or value < champion-minDelta for a loss. A model equal to
// the champion never beats it, also with minDelta 0.
func BeatsChampion(metric string, value, champion, minDelta float64) bool {
	if LowerIsBetter(metric) {
		return value < champion-minDelta
	}
	return value > champion+minDelta
}

// Champion is the champion model the candidate is compared with.
type Champion struct {
	// Version is the champion's registry version.
	Version int
	// Value is the champion's value of the gate metric on the candidate's test split.
	Value float64
	// SameModel is set when the candidate is the champion's own model (the same model.json digest, e.g. a rerun
	// on unchanged data and params): there is nothing to beat, the comparison passes, and registering it answers
	// the champion's version.
	SameModel bool
}

// Input is what the gate decides on.
type Input struct {
	// Metric, Operator and Threshold are the threshold test: Value <Operator> Threshold.
	Metric   string
	Operator string
	// Threshold is the bound.
	Threshold float64
	// Value is the candidate's value of Metric.
	Value float64
	// Champion is the champion to beat; nil when none is compared.
	Champion *Champion
	// MinDelta is the margin by which Value must beat the champion's.
	MinDelta float64
}

// Decision is the gate's outcome.
type Decision struct {
	// ThresholdPassed is the outcome of the threshold test alone.
	ThresholdPassed bool
	// ChampionPassed is the outcome of the champion comparison; nil when no champion was compared.
	ChampionPassed *bool
	// Passed is the overall decision: the threshold test and, with a champion, the comparison.
	Passed bool
	// Reasons says why the gate failed, one sentence per failed test (threshold, champion); empty when it passed.
	Reasons []string
}

// Decide applies the gate: the threshold test and, when in.Champion is set, the champion comparison.
func Decide(in Input) (Decision, error) {
	if err := CheckDirection(in.Metric, in.Operator); err != nil {
		return Decision{}, err
	}
	if in.MinDelta < 0 {
		return Decision{}, fmt.Errorf("min-delta must not be negative, got %v", in.MinDelta)
	}
	var d Decision
	var err error
	if d.ThresholdPassed, err = Compare(in.Value, in.Operator, in.Threshold); err != nil {
		return Decision{}, err
	}
	if !d.ThresholdPassed {
		v := FormatMetric(in.Value)
		if shown, _ := strconv.ParseFloat(v, 64); passes(shown, in.Operator, in.Threshold) {
			v = Format(in.Value) // rounded, the value would read as passing
		}
		d.Reasons = append(d.Reasons, fmt.Sprintf("%s %s is not %s the threshold %s", in.Metric, v, in.Operator, Format(in.Threshold)))
	}
	d.Passed = d.ThresholdPassed
	if c := in.Champion; c != nil {
		beats := c.SameModel || BeatsChampion(in.Metric, in.Value, c.Value, in.MinDelta)
		d.ChampionPassed = &beats
		if !beats {
			dir := "higher"
			if LowerIsBetter(in.Metric) {
				dir = "lower"
			}
			v, cv := FormatMetric(in.Value), FormatMetric(c.Value)
			shownV, _ := strconv.ParseFloat(v, 64)
			shownC, _ := strconv.ParseFloat(cv, 64)
			if BeatsChampion(in.Metric, shownV, shownC, in.MinDelta) {
				v, cv = Format(in.Value), Format(c.Value) // rounded, the values would read as beating the champion
			}
			d.Reasons = append(d.Reasons, fmt.Sprintf("%s %s does not beat the champion v%d (%s) by more than min-delta %s (%s is better)",
				in.Metric, v, c.Version, cv, Format(in.MinDelta), dir))
		}
		d.Passed = d.Passed && beats
	}
	return d, nil
}

// passes is Compare for an operator Decide has already checked.
func passes(value float64, operator string, threshold float64) bool {
	ok, _ := Compare(value, operator, threshold)
	return ok
}

// FormatMetric is how mlpipe shows a measured metric value to a person (the run summary, `mlpipe runs list`, the
// report, the alert's text, the evaluate step's table and the gate's reasons): four decimals, 0.8354, 1.0000,
// 3.0600. The bounds a user writes (threshold, min-delta) are shown as written, with Format; machine-readable
// results and metrics.json keep full precision.
func FormatMetric(v float64) string { return strconv.FormatFloat(v, 'f', 4, 64) }

// Format renders a gate number as the evaluate step's results carry it: the shortest decimal that parses back
// to the same float64, so that the CEL form reads exactly the value Decide compared.
func Format(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// Results are the evaluate step's gate results for in and its decision d: metric-value, champion-value (empty
// without a champion, and when the candidate is the champion's own model) and passed.
func Results(in Input, d Decision) map[string]string {
	champion := ""
	if in.Champion != nil && !in.Champion.SameModel {
		champion = Format(in.Champion.Value)
	}
	return map[string]string{ResultMetricValue: Format(in.Value), ResultChampionValue: champion, ResultPassed: strconv.FormatBool(d.Passed)}
}

// number matches what Format writes; a result reference that Tekton has not substituted yet does not match.
const number = `'^[-+0-9.eE]+$'`

// CEL returns a CEL when expression that decides as Decide does, from the results of the pipeline task
// evalTask: its metric-value compared with threshold by operator and, when its champion-value is not empty,
// metric-value beating champion-value by more than minDelta in the metric's direction. threshold and minDelta
// are CEL-quoted text (a literal number or a $(params.x) reference), parsed by double() as the evaluate step
// parses its flags. Tekton evaluates CEL on every reconcile, also before evalTask has run, when the result
// references are still literal text: the matches() guards make the expression false then, instead of a
// conversion error that would fail the PipelineRun.
func CEL(evalTask, metric, operator, threshold, minDelta string) string {
	v := fmt.Sprintf("'$(tasks.%s.results.%s)'", evalTask, ResultMetricValue)
	c := fmt.Sprintf("'$(tasks.%s.results.%s)'", evalTask, ResultChampionValue)
	beat, margin := ">", "+"
	if LowerIsBetter(metric) {
		beat, margin = "<", "-"
	}
	return fmt.Sprintf("%s.matches(%s) && double(%s) %s double('%s') && (%s == '' || (%s.matches(%s) && double(%s) %s double(%s) %s double('%s')))",
		v, number, v, operator, threshold, c, c, number, v, beat, c, margin, minDelta)
}
