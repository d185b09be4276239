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
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/mlpipe/mlpipe/pkg/gate"
	"github.com/mlpipe/mlpipe/pkg/store"
)

// Metric names accepted by --metric.
var metricNames = []string{"accuracy", "precision", "recall", "f1", "log-loss"}

// EvaluateOptions are the flags of `step evaluate`.
type EvaluateOptions struct {
	// Dataset is the URI of the preprocessed dataset directory (its test.csv is scored).
	Dataset string
	// Model is the URI of model.json (or its directory).
	Model string
	// Metric is the gate's metric: accuracy, precision, recall, f1 or log-loss.
	Metric string
	// Operator compares the metric to Threshold: >, >=, < or <=.
	Operator string
	// Threshold is the gate's bound.
	Threshold float64
	// Out is the URI of the directory to write metrics.json into.
	Out string
	// Registry, ModelName and MinDelta enable the champion comparison.
	Registry string
	// ModelName is the registered model's name.
	ModelName string
	// MinDelta is the margin by which the metric must beat the champion's.
	MinDelta float64
	// ResultsDir receives the Tekton results.
	ResultsDir string
}

// Metrics are the evaluation metrics of a model on a dataset split.
type Metrics struct {
	// Accuracy is the share of rows predicted right.
	Accuracy float64 `json:"accuracy"`
	// Precision, Recall and F1 are macro averages over the classes.
	Precision float64 `json:"precision"`
	// Recall is the macro-averaged recall.
	Recall float64 `json:"recall"`
	// F1 is the macro-averaged F1 score.
	F1 float64 `json:"f1"`
	// LogLoss is the mean cross-entropy of the predicted probabilities.
	LogLoss float64 `json:"logLoss"`
	// Rows is the number of rows scored.
	Rows int `json:"rows"`
	// Labels name the rows and columns of Confusion.
	Labels []string `json:"labels"`
	// Confusion counts rows by [true class][predicted class].
	Confusion [][]int `json:"confusion"`
	// PerClass holds each class's precision, recall, F1 and support.
	PerClass []ClassMetrics `json:"perClass"`
}

// ClassMetrics are one class's one-vs-rest metrics.
type ClassMetrics struct {
	// Label is the class.
	Label string `json:"label"`
	// Precision is TP/(TP+FP), 0 when nothing was predicted as the class.
	Precision float64 `json:"precision"`
	// Recall is TP/(TP+FN), 0 when the class has no rows.
	Recall float64 `json:"recall"`
	// F1 is the harmonic mean of precision and recall.
	F1 float64 `json:"f1"`
	// Support is the number of rows of the class.
	Support int `json:"support"`
}

// Value returns the named metric.
func (m *Metrics) Value(name string) (float64, error) {
	switch name {
	case "accuracy":
		return m.Accuracy, nil
	case "precision":
		return m.Precision, nil
	case "recall":
		return m.Recall, nil
	case "f1":
		return m.F1, nil
	case "log-loss":
		return m.LogLoss, nil
	}
	return 0, fmt.Errorf("unknown metric %q (want one of %s)", name, strings.Join(metricNames, ", "))
}

// lowerIsBetter reports whether smaller values of the metric are better.
func lowerIsBetter(metric string) bool { return gate.LowerIsBetter(metric) }

// Report is metrics.json: the metrics plus the gate's decision.
type Report struct {
	Metrics
	// Model and Dataset identify what was evaluated.
	Model string `json:"model"`
	// ModelDigest is the digest of the evaluated model.json.
	ModelDigest string `json:"modelDigest"`
	// Dataset is the evaluated dataset directory.
	Dataset string `json:"dataset"`
	// Gate is the threshold (and champion) decision.
	Gate Gate `json:"gate"`
	// Baseline is the majority-class baseline of the gate metric (baseline.go).
	Baseline *Baseline `json:"baseline,omitempty"`
	// Warnings say when the metric does not beat the baseline or the test split is too small or lacks a class.
	Warnings []string `json:"warnings,omitempty"`
}

// Gate records the evaluation gate's inputs and decision.
type Gate struct {
	// Metric, Operator, Threshold and Value describe the threshold test.
	Metric string `json:"metric"`
	// Operator is one of >, >=, <, <=.
	Operator string `json:"operator"`
	// Threshold is the bound.
	Threshold float64 `json:"threshold"`
	// Value is the metric's value.
	Value float64 `json:"value"`
	// ThresholdPassed is the outcome of the threshold test alone.
	ThresholdPassed bool `json:"thresholdPassed"`
	// Champion is the comparison against the registry's champion, when there was one.
	Champion *ChampionComparison `json:"champion,omitempty"`
	// Passed is the overall decision.
	Passed bool `json:"passed"`
}

// ChampionComparison records how the candidate compared with the current champion.
type ChampionComparison struct {
	// Version is the champion's version number.
	Version int `json:"version"`
	// ModelURI is the champion's model.json.
	ModelURI string `json:"modelUri"`
	// Value is the champion's value of the gate metric.
	Value float64 `json:"value"`
	// Source says where Value came from: "rescored" on this test split, or "recorded" at registration.
	Source string `json:"source"`
	// MinDelta is the required margin.
	MinDelta float64 `json:"minDelta"`
	// Passed reports whether the candidate beat the champion by at least MinDelta.
	Passed bool `json:"passed"`
}

func newEvaluateCommand() *cobra.Command {
	o := &EvaluateOptions{}
	cmd := &cobra.Command{
		Use:   "evaluate",
		Short: "Score a model on the held-out split and decide whether it passes the gate",
		Long: "Scores the model on <dataset>/test.csv, writes <out>/metrics.json (accuracy, macro precision/recall/F1,\n" +
			"log loss, confusion matrix) and compares --metric with --threshold using --operator. With --registry and\n" +
			"--model-name, a model that holds the `champion` alias must also be beaten by at least --min-delta.\n" +
			"Results: accuracy, metric-value, passed, metrics-uri.",
		Args: cobra.NoArgs,
	}
	cmd.Flags().StringVar(&o.Dataset, "dataset", "", "URI of the preprocessed dataset directory")
	cmd.Flags().StringVar(&o.Model, "model", "", "URI of model.json (or the directory holding it)")
	cmd.Flags().StringVar(&o.Metric, "metric", "accuracy", "gate metric: "+strings.Join(metricNames, ", "))
	cmd.Flags().StringVar(&o.Operator, "operator", ">=", "gate comparison: >, >=, < or <=")
	cmd.Flags().Float64Var(&o.Threshold, "threshold", 0.9, "gate threshold")
	cmd.Flags().StringVar(&o.Out, "out", "", "URI of the output directory for metrics.json")
	cmd.Flags().StringVar(&o.Registry, "registry", "", "URI of the model registry store (enables the champion comparison)")
	cmd.Flags().StringVar(&o.ModelName, "model-name", "", "registered model name (with --registry)")
	cmd.Flags().Float64Var(&o.MinDelta, "min-delta", 0, "margin by which the metric must beat the champion's")
	addResultsDirFlag(cmd, &o.ResultsDir)
	cmd.RunE = runE([]string{"dataset", "model", "out"}, func(cmd *cobra.Command) error {
		r, uri, err := Evaluate(cmd.Context(), o, cmd.OutOrStdout())
		if err != nil {
			return err
		}
		return writeResults(o.ResultsDir,
			result{"accuracy", formatFloat(r.Accuracy)},
			result{"metric-value", formatFloat(r.Gate.Value)},
			result{"passed", strconv.FormatBool(r.Gate.Passed)},
			result{"metrics-uri", uri},
		)
	})
	return cmd
}

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// compare applies a comparison operator.
func compare(v float64, op string, t float64) (bool, error) {
	switch op {
	case ">":
		return v > t, nil
	case ">=":
		return v >= t, nil
	case "<":
		return v < t, nil
	case "<=":
		return v <= t, nil
	}
	return false, fmt.Errorf("invalid --operator %q (want one of >, >=, <, <=)", op)
}

// Evaluate runs the evaluate step, printing a metrics table to out; it returns the report and metrics.json's URI.
func Evaluate(ctx context.Context, o *EvaluateOptions, out io.Writer) (*Report, string, error) {
	if _, err := (&Metrics{}).Value(o.Metric); err != nil {
		return nil, "", fmt.Errorf("invalid --metric: %w", err)
	}
	if _, err := compare(0, o.Operator, 0); err != nil {
		return nil, "", err
	}
	if err := gate.CheckDirection(o.Metric, o.Operator); err != nil {
		return nil, "", fmt.Errorf("invalid --operator for --metric=%s: %w", o.Metric, err)
	}
	if o.Registry != "" && o.ModelName == "" {
		return nil, "", errors.New("--registry needs --model-name")
	}
	dst, err := store.Open(ctx, o.Out)
	if err != nil {
		return nil, "", fmt.Errorf("invalid --out: %w", err)
	}
	m, modelData, err := LoadModel(ctx, o.Model)
	if err != nil {
		return nil, "", err
	}
	s, x, y, err := loadDataset(ctx, o.Dataset, "test.csv")
	if err != nil {
		return nil, "", err
	}
	if !slices.Equal(s.Features, m.Features) || !slices.Equal(s.Classes, m.Classes) {
		return nil, "", fmt.Errorf("model/dataset mismatch: the model has features %v and classes %v, the dataset %v and %v",
			m.Features, m.Classes, s.Features, s.Classes)
	}
	metrics := Score(m, x, y)
	r := &Report{Metrics: *metrics, Model: modelFileURI(o.Model), ModelDigest: store.Digest(modelData), Dataset: o.Dataset}
	r.Gate = Gate{Metric: o.Metric, Operator: o.Operator, Threshold: o.Threshold}
	r.Gate.Value, _ = metrics.Value(o.Metric)
	r.Gate.ThresholdPassed, _ = compare(r.Gate.Value, o.Operator, o.Threshold)
	r.Gate.Passed = r.Gate.ThresholdPassed
	if r.Baseline, r.Warnings, err = evaluationWarnings(s, metrics, x, y, o.Metric); err != nil {
		return nil, "", err
	}
	if o.Registry != "" {
		c, err := compareChampion(ctx, o, x, y, m, r.Gate.Value)
		if err != nil {
			return nil, "", err
		}
		if c != nil {
			r.Gate.Champion = c
			r.Gate.Passed = r.Gate.Passed && c.Passed
		}
	}
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, "", err
	}
	if err := dst.Put(ctx, "metrics.json", data); err != nil {
		return nil, "", err
	}
	printReport(out, r)
	for _, w := range r.Warnings {
		fmt.Fprintf(out, "warning: %s\n", w)
	}
	return r, dst.URI("metrics.json"), nil
}

// compareChampion compares the candidate's metric value with the champion's; it returns nil when there is no
// champion. The champion is re-scored on the same test split when its features match; otherwise its metrics
// recorded at registration are used.
func compareChampion(ctx context.Context, o *EvaluateOptions, x [][]float64, y []int, cand *Model, value float64) (*ChampionComparison, error) {
	reg, err := store.Open(ctx, o.Registry)
	if err != nil {
		return nil, fmt.Errorf("invalid --registry: %w", err)
	}
	ptr, err := readChampion(ctx, reg, o.ModelName)
	if err != nil {
		return nil, err
	}
	if ptr == nil {
		return nil, nil
	}
	c := &ChampionComparison{Version: ptr.Version, ModelURI: ptr.ModelURI, MinDelta: o.MinDelta}
	champ, _, err := LoadModel(ctx, ptr.ModelURI)
	if err != nil {
		return nil, fmt.Errorf("error loading the champion (v%d): %w", ptr.Version, err)
	}
	if slices.Equal(champ.Features, cand.Features) && slices.Equal(champ.Classes, cand.Classes) &&
		slices.EqualFunc(champ.Schema.Columns, cand.Schema.Columns, columnsEqual) {
		c.Value, _ = Score(champ, x, y).Value(o.Metric)
		c.Source = "rescored"
	} else {
		md, err := readMetadata(ctx, reg, o.ModelName, ptr.Version)
		if err != nil {
			return nil, err
		}
		c.Value, _ = md.Metrics.Value(o.Metric)
		c.Source = "recorded"
	}
	if lowerIsBetter(o.Metric) {
		c.Passed = value <= c.Value-o.MinDelta
	} else {
		c.Passed = value >= c.Value+o.MinDelta
	}
	return c, nil
}

func columnsEqual(a, b Column) bool {
	return a.Name == b.Name && a.Type == b.Type && a.Mean == b.Mean && a.Std == b.Std && a.Fill == b.Fill && slices.Equal(a.Categories, b.Categories)
}

// Score computes the metrics of the model on encoded rows x with true class indices y.
func Score(m *Model, x [][]float64, y []int) *Metrics {
	k := len(m.Classes)
	r := &Metrics{Rows: len(x), Labels: slices.Clone(m.Classes), Confusion: make([][]int, k)}
	for i := range r.Confusion {
		r.Confusion[i] = make([]int, k)
	}
	if len(x) == 0 {
		return r
	}
	p := m.PredictProba(denseFromRows(x, len(m.Features)))
	correct := 0
	for i := range x {
		row := p.RawRowView(i)
		pred := argmax(row)
		r.Confusion[y[i]][pred]++
		if pred == y[i] {
			correct++
		}
		r.LogLoss -= math.Log(math.Min(math.Max(row[y[i]], 1e-15), 1-1e-15))
	}
	r.LogLoss /= float64(len(x))
	r.Accuracy = float64(correct) / float64(len(x))
	for c := 0; c < k; c++ {
		tp, fp, fn := r.Confusion[c][c], 0, 0
		for o := 0; o < k; o++ {
			if o != c {
				fp += r.Confusion[o][c]
				fn += r.Confusion[c][o]
			}
		}
		cm := ClassMetrics{Label: m.Classes[c], Support: tp + fn}
		if tp+fp > 0 {
			cm.Precision = float64(tp) / float64(tp+fp)
		}
		if tp+fn > 0 {
			cm.Recall = float64(tp) / float64(tp+fn)
		}
		if cm.Precision+cm.Recall > 0 {
			cm.F1 = 2 * cm.Precision * cm.Recall / (cm.Precision + cm.Recall)
		}
		r.PerClass = append(r.PerClass, cm)
		r.Precision += cm.Precision / float64(k)
		r.Recall += cm.Recall / float64(k)
		r.F1 += cm.F1 / float64(k)
	}
	return r
}

// printReport prints the metrics, per-class table, confusion matrix and gate decision.
func printReport(out io.Writer, r *Report) {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "metric\tvalue\n")
	fmt.Fprintf(tw, "accuracy\t%.4f\n", r.Accuracy)
	fmt.Fprintf(tw, "precision (macro)\t%.4f\n", r.Precision)
	fmt.Fprintf(tw, "recall (macro)\t%.4f\n", r.Recall)
	fmt.Fprintf(tw, "f1 (macro)\t%.4f\n", r.F1)
	fmt.Fprintf(tw, "log-loss\t%.4f\n", r.LogLoss)
	fmt.Fprintf(tw, "rows\t%d\n", r.Rows)
	fmt.Fprintln(tw)
	fmt.Fprintf(tw, "class\tprecision\trecall\tf1\tsupport\n")
	for _, c := range r.PerClass {
		fmt.Fprintf(tw, "%s\t%.4f\t%.4f\t%.4f\t%d\n", c.Label, c.Precision, c.Recall, c.F1, c.Support)
	}
	fmt.Fprintln(tw)
	fmt.Fprintf(tw, "confusion (true \\ predicted)\t%s\n", strings.Join(r.Labels, "\t"))
	for i, row := range r.Confusion {
		cells := make([]string, len(row))
		for j, v := range row {
			cells[j] = strconv.Itoa(v)
		}
		fmt.Fprintf(tw, "%s\t%s\n", r.Labels[i], strings.Join(cells, "\t"))
	}
	_ = tw.Flush()
	g := r.Gate
	fmt.Fprintf(out, "\ngate: %s %.4f %s %v: %v\n", g.Metric, g.Value, g.Operator, g.Threshold, g.ThresholdPassed)
	if c := g.Champion; c != nil {
		fmt.Fprintf(out, "champion v%d: %s %.4f (%s), min-delta %v: %v\n", c.Version, g.Metric, c.Value, c.Source, c.MinDelta, c.Passed)
	}
	fmt.Fprintf(out, "passed: %v\n", g.Passed)
}
