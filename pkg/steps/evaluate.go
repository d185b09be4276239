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
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"gonum.org/v1/gonum/mat"

	"github.com/mlpipe/mlpipe/pkg/gate"
	"github.com/mlpipe/mlpipe/pkg/ml"
	"github.com/mlpipe/mlpipe/pkg/store"
)

// EvaluateOptions are the flags of `step evaluate`.
type EvaluateOptions struct {
	// Dataset is the URI of the preprocessed dataset directory (its test.arrow is scored).
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
	// MinDelta is the margin by which the metric must beat the champion's: strictly more than MinDelta
	// better, so that a model equal to the champion never passes, also with MinDelta 0.
	MinDelta float64
	// ResultsDir receives the Tekton results.
	ResultsDir string
}

// Report is metrics.json: the metrics plus the gate's decision.
type Report struct {
	ml.Metrics
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
	// Champion is the comparison against the registry's champion, when one was made.
	Champion *ChampionComparison `json:"champion,omitempty"`
	// ChampionSkipped says why the registry's champion was not compared (it was trained for another label,
	// classes or feature columns); the gate then decided on the threshold alone.
	ChampionSkipped string `json:"championSkipped,omitempty"`
	// Passed is the overall decision.
	Passed bool `json:"passed"`
	// Reasons says why the gate failed, one sentence for each failed test (threshold, champion).
	Reasons []string `json:"reasons,omitempty"`
}

// ChampionComparison records how the candidate compared with the current champion.
type ChampionComparison struct {
	// Version is the champion's version number.
	Version int `json:"version"`
	// ModelURI is the champion's model.json.
	ModelURI string `json:"modelUri"`
	// Value is the champion's value of the gate metric, scored on the candidate's test split.
	Value float64 `json:"value"`
	// MinDelta is the required margin.
	MinDelta float64 `json:"minDelta"`
	// Passed reports whether the candidate beat the champion by more than MinDelta, in the metric's direction,
	// or is the champion's own model.
	Passed bool `json:"passed"`
	// SameModel is set when the candidate is the champion's own model (the same model.json digest): a rerun on
	// unchanged data and params. There is nothing to beat; register answers the champion's version.
	SameModel bool `json:"sameModel,omitempty"`
}

func newEvaluateCommand() *cobra.Command {
	o := &EvaluateOptions{}
	cmd := &cobra.Command{
		Use:   "evaluate",
		Short: "Score a model on the held-out split and decide whether it passes the gate",
		Long: "Scores the model on <dataset>/test.arrow, writes <out>/metrics.json (accuracy, macro precision/recall/F1,\n" +
			"log loss, confusion matrix) and compares --metric with --threshold using --operator. With --registry and\n" +
			"--model-name, the model that holds the `champion` alias must also be beaten by more than --min-delta (a tie\n" +
			"never passes), in the metric's direction, when it was trained for the same label, classes and feature\n" +
			"columns: it is scored on the same test split. Otherwise the gate says why it did not compare and decides\n" +
			"on the threshold alone.\n" +
			"Results: accuracy, metric-value, champion-value (empty when no champion was compared), passed, metrics-uri.",
		Args: cobra.NoArgs,
	}
	cmd.Flags().StringVar(&o.Dataset, "dataset", "", "URI of the preprocessed dataset directory")
	cmd.Flags().StringVar(&o.Model, "model", "", "URI of model.json (or the directory holding it)")
	cmd.Flags().StringVar(&o.Metric, "metric", "accuracy", "gate metric: "+strings.Join(ml.MetricNames, ", "))
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
		g := gate.Results(r.Gate.input(), r.Gate.decision())
		return writeResults(o.ResultsDir,
			result{"accuracy", gate.Format(r.Accuracy)},
			result{gate.ResultMetricValue, g[gate.ResultMetricValue]},
			result{gate.ResultChampionValue, g[gate.ResultChampionValue]},
			result{gate.ResultPassed, g[gate.ResultPassed]},
			result{"metrics-uri", uri},
		)
	})
	return cmd
}

// input is the gate's input as the report records it.
func (g *Gate) input() gate.Input {
	in := gate.Input{Metric: g.Metric, Operator: g.Operator, Threshold: g.Threshold, Value: g.Value}
	if c := g.Champion; c != nil {
		in.Champion, in.MinDelta = &gate.Champion{Version: c.Version, Value: c.Value, SameModel: c.SameModel}, c.MinDelta
	}
	return in
}

// decision is the gate's decision as the report records it.
func (g *Gate) decision() gate.Decision {
	d := gate.Decision{ThresholdPassed: g.ThresholdPassed, Passed: g.Passed, Reasons: g.Reasons}
	if c := g.Champion; c != nil {
		d.ChampionPassed = &c.Passed
	}
	return d
}

// Evaluate runs the evaluate step, printing a metrics table to out; it returns the report and metrics.json's URI.
func Evaluate(ctx context.Context, o *EvaluateOptions, out io.Writer) (*Report, string, error) {
	if _, err := (&ml.Metrics{}).Value(o.Metric); err != nil {
		return nil, "", fmt.Errorf("invalid --metric: %w", err)
	}
	if _, err := gate.Compare(0, o.Operator, 0); err != nil {
		return nil, "", fmt.Errorf("invalid --operator: %w", err)
	}
	if err := gate.CheckDirection(o.Metric, o.Operator); err != nil {
		return nil, "", fmt.Errorf("invalid --operator for --metric=%s: %w", o.Metric, err)
	}
	if o.MinDelta < 0 {
		return nil, "", fmt.Errorf("invalid --min-delta %v: must not be negative", o.MinDelta)
	}
	if o.Registry != "" && o.ModelName == "" {
		return nil, "", errors.New("--registry needs --model-name")
	}
	dst, err := store.Open(ctx, o.Out)
	if err != nil {
		return nil, "", fmt.Errorf("invalid --out: %w", err)
	}
	u := startUsage("evaluate", out)
	m, modelData, err := LoadModel(ctx, o.Model)
	if err != nil {
		return nil, "", err
	}
	s, test, err := ml.OpenSplit(ctx, o.Dataset, ml.TestFile)
	if err != nil {
		return nil, "", err
	}
	defer test.Close()
	if !slices.Equal(s.Features, m.Features) || !slices.Equal(s.Classes, m.Classes) {
		return nil, "", fmt.Errorf("model/dataset mismatch: the model has features %v and classes %v, the dataset %v and %v",
			m.Features, m.Classes, s.Features, s.Classes)
	}
	metrics, err := ml.Score(m, test)
	if err != nil {
		return nil, "", err
	}
	r := &Report{Metrics: *metrics, Model: modelFileURI(o.Model), ModelDigest: store.Digest(modelData), Dataset: o.Dataset}
	if r.Gate, err = decideGate(ctx, o, metrics, m, r.ModelDigest, test); err != nil {
		return nil, "", err
	}
	if r.Baseline, r.Warnings, err = evaluationWarnings(s, metrics, test, o.Metric); err != nil {
		return nil, "", err
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
	u.done(r.Rows)
	return r, dst.URI("metrics.json"), nil
}

// decideGate applies the gate (pkg/gate) to the candidate's metrics: the threshold test and, with --registry,
// the comparison with a comparable champion.
func decideGate(ctx context.Context, o *EvaluateOptions, metrics *ml.Metrics, cand *ml.Model, candDigest string, test ml.Dataset) (Gate, error) {
	g := Gate{Metric: o.Metric, Operator: o.Operator, Threshold: o.Threshold}
	g.Value, _ = metrics.Value(o.Metric)
	in := gate.Input{Metric: o.Metric, Operator: o.Operator, Threshold: o.Threshold, Value: g.Value, MinDelta: o.MinDelta}
	if o.Registry != "" {
		c, skipped, err := scoreChampion(ctx, o, test, cand, candDigest)
		if err != nil {
			return Gate{}, err
		}
		g.ChampionSkipped = skipped
		if c != nil {
			g.Champion = c
			in.Champion = &gate.Champion{Version: c.Version, Value: c.Value, SameModel: c.SameModel}
		}
	}
	d, err := gate.Decide(in)
	if err != nil {
		return Gate{}, err
	}
	g.ThresholdPassed, g.Passed, g.Reasons = d.ThresholdPassed, d.Passed, d.Reasons
	if g.Champion != nil {
		g.Champion.Passed = *d.ChampionPassed
	}
	return g, nil
}

// scoreChampion scores the registry's champion on the candidate's test split. It returns nil and no reason when
// there is no champion, and nil with the reason when the champion was trained for another label, classes or
// feature columns: its metrics then say nothing about this data. A champion whose columns match but whose
// numeric columns were standardised on other training data is scored on the same rows re-encoded with its own
// means and standard deviations. A champion whose model.json has the candidate's digest is the candidate itself.
func scoreChampion(ctx context.Context, o *EvaluateOptions, test ml.Dataset, cand *ml.Model, candDigest string) (*ChampionComparison, string, error) {
	reg, err := store.Open(ctx, o.Registry)
	if err != nil {
		return nil, "", fmt.Errorf("invalid --registry: %w", err)
	}
	ptr, err := readChampion(ctx, reg, o.ModelName)
	if err != nil || ptr == nil {
		return nil, "", err
	}
	champ, champData, err := LoadModel(ctx, ptr.ModelURI)
	if err != nil {
		return nil, "", fmt.Errorf("error loading the champion (v%d): %w", ptr.Version, err)
	}
	if why := incomparable(&champ.Schema, &cand.Schema); why != "" {
		return nil, fmt.Sprintf("champion v%d not compared: %s; the gate decided on the threshold alone", ptr.Version, why), nil
	}
	c := &ChampionComparison{Version: ptr.Version, ModelURI: ptr.ModelURI, MinDelta: o.MinDelta, SameModel: store.Digest(champData) == candDigest}
	cm, err := ml.Score(champ, reencode(test, cand.Schema.Columns, champ.Schema.Columns))
	if err != nil {
		return nil, "", err
	}
	c.Value, _ = cm.Value(o.Metric)
	return c, "", nil
}

// incomparable says how the champion's schema differs from the candidate's in what makes the two models answer
// the same question about the same inputs: the label, the classes and the feature columns (name, type and,
// for a categorical column, its categories). It returns "" when they agree.
func incomparable(champ, cand *ml.Schema) string {
	switch {
	case champ.Label != cand.Label:
		return fmt.Sprintf("it predicts the label %q, this model %q", champ.Label, cand.Label)
	case !slices.Equal(champ.Classes, cand.Classes):
		return fmt.Sprintf("its classes are %s, this model's %s", ml.QuoteNames(champ.Classes), ml.QuoteNames(cand.Classes))
	case len(champ.Columns) != len(cand.Columns):
		return fmt.Sprintf("it has %d feature columns %s, this model %d %s",
			len(champ.Columns), columnNames(champ.Columns), len(cand.Columns), columnNames(cand.Columns))
	}
	for i, a := range champ.Columns {
		if b := cand.Columns[i]; a.Name != b.Name || a.Type != b.Type || !slices.Equal(a.Categories, b.Categories) {
			return fmt.Sprintf("its feature column %d is %s, this model's %s", i+1, describeColumn(a), describeColumn(b))
		}
	}
	return ""
}

func describeColumn(c ml.Column) string {
	if c.Type == ml.TypeCategorical {
		return fmt.Sprintf("%q (categorical: %s)", c.Name, strings.Join(c.Categories, ", "))
	}
	return fmt.Sprintf("%q (%s)", c.Name, c.Type)
}

// reencode returns the rows of d, encoded with the columns from, as if encoded with the columns to, which have
// the same names, types and categories: a numeric value is un-standardised with from's mean and standard
// deviation and standardised with to's (as EncodeRow does, a deviation of 0 counts as 1); one-hot values are
// unchanged. d is returned as is when the standardisations agree.
func reencode(d ml.Dataset, from, to []ml.Column) ml.Dataset {
	same := true
	for i := range from {
		same = same && from[i].Mean == to[i].Mean && from[i].Std == to[i].Std
	}
	if same {
		return d
	}
	return &reencoded{Dataset: d, from: from, to: to}
}

// reencoded is a Dataset re-encoded block by block (reencode).
type reencoded struct {
	ml.Dataset
	from, to []ml.Column
	buf      *mat.Dense
}

// Block implements ml.Dataset.
func (r *reencoded) Block(i int) (ml.Batch, error) {
	b, err := r.Dataset.Block(i)
	if err != nil {
		return b, err
	}
	n, d := b.X.Dims()
	if r.buf == nil || r.buf.RawMatrix().Rows < n {
		r.buf = mat.NewDense(n, d, nil)
	}
	x := r.buf.Slice(0, n, 0, d).(*mat.Dense)
	x.Copy(b.X)
	for row := 0; row < n; row++ {
		v := x.RawRowView(row)
		j := 0
		for k, c := range r.from {
			if c.Type != ml.TypeNumeric {
				j += len(c.Categories)
				continue
			}
			v[j] = r.to[k].Standardise(v[j]*nonZero(c.Std) + c.Mean)
			j++
		}
	}
	return ml.Batch{X: x, Y: b.Y}, nil
}

func nonZero(std float64) float64 {
	if std == 0 {
		return 1
	}
	return std
}

// printReport prints the metrics, per-class table, confusion matrix and gate decision.
func printReport(out io.Writer, r *Report) {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "metric\tvalue\n")
	show := gate.FormatMetric
	fmt.Fprintf(tw, "accuracy\t%s\n", show(r.Accuracy))
	fmt.Fprintf(tw, "precision (macro)\t%s\n", show(r.Precision))
	fmt.Fprintf(tw, "recall (macro)\t%s\n", show(r.Recall))
	fmt.Fprintf(tw, "f1 (macro)\t%s\n", show(r.F1))
	fmt.Fprintf(tw, "log-loss\t%s\n", show(r.LogLoss))
	fmt.Fprintf(tw, "rows\t%d\n", r.Rows)
	fmt.Fprintln(tw)
	fmt.Fprintf(tw, "class\tprecision\trecall\tf1\tsupport\n")
	for _, c := range r.PerClass {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\n", c.Label, show(c.Precision), show(c.Recall), show(c.F1), c.Support)
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
	fmt.Fprintf(out, "\ngate: %s %s %s %s: %v\n", g.Metric, show(g.Value), g.Operator, gate.Format(g.Threshold), g.ThresholdPassed)
	if c := g.Champion; c != nil && c.SameModel {
		fmt.Fprintf(out, "champion v%d is this model (same digest): nothing to beat\n", c.Version)
	} else if c != nil {
		fmt.Fprintf(out, "champion v%d: %s %s on this test split, beaten by more than min-delta %s: %v\n",
			c.Version, g.Metric, show(c.Value), gate.Format(c.MinDelta), c.Passed)
	}
	if g.ChampionSkipped != "" {
		fmt.Fprintf(out, "%s\n", g.ChampionSkipped)
	}
	fmt.Fprintf(out, "passed: %v\n", g.Passed)
	for _, why := range g.Reasons {
		fmt.Fprintf(out, "  %s\n", why)
	}
}
