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
	"fmt"
	"math"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/mlpipe/mlpipe/pkg/ml"
)

// readSchema reads a preprocess output's schema.json.
func readSchema(t *testing.T, dir string) ml.Schema {
	t.Helper()
	var s ml.Schema
	readJSON(t, filepath.Join(dir, "schema.json"), &s)
	return s
}

// TestPreprocessDelimiter: a ';', tab or '|' CSV is read with the delimiter detected (and said so), or with the
// one --delimiter names; the wrong one fails with a hint naming the right one.
func TestPreprocessDelimiter(t *testing.T) {
	rows := func(d string) []byte {
		var b strings.Builder
		fmt.Fprintf(&b, "size%splan%sy\n", d, d)
		for i := 0; i < 40; i++ {
			fmt.Fprintf(&b, "%d.5%s%s%s%d\n", i, d, []string{"basic", "pro, annual"}[i%2], d, i%2)
		}
		return []byte(b.String())
	}
	tests := []struct {
		name, delim, flag, wantLog string
	}{
		{name: "semicolon detected", delim: ";", wantLog: `detected delimiter ";"`},
		{name: "tab detected", delim: "\t", wantLog: `detected delimiter "tab"`},
		{name: "pipe detected", delim: "|", wantLog: `detected delimiter "|"`},
		{name: "semicolon given", delim: ";", flag: ";"},
		{name: "tab given by name", delim: "\t", flag: "tab"},
		{name: "comma: nothing to say", delim: ","},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			content := rows(tt.delim)
			if tt.delim == "," {
				content = []byte(strings.ReplaceAll(string(content), "pro, annual", `"pro, annual"`))
			}
			data := writeFile(t, dir, "in.csv", content)
			args := []string{"preprocess", "--data", data, "--label", "y", "--out", filepath.Join(dir, "ds")}
			if tt.flag != "" {
				args = append(args, "--delimiter", tt.flag)
			}
			r := mustRun(t, args...)
			if r.results["rows"] != "40" {
				t.Errorf("rows = %s, want 40", r.results["rows"])
			}
			if d := cmp.Diff([]string{"size", "plan=basic", "plan=pro, annual"}, readSchema(t, filepath.Join(dir, "ds")).Features); d != "" {
				t.Errorf("features (-want +got):\n%s", d)
			}
			if got := strings.Contains(r.stderr, "detected delimiter"); got != (tt.wantLog != "") || !strings.Contains(r.stderr, tt.wantLog) {
				t.Errorf("log = %q, want %q", r.stderr, tt.wantLog)
			}
		})
	}
}

// TestPreprocessDelimiterErrors: the wrong delimiter, or a file of one column, fails saying what to do.
func TestPreprocessDelimiterErrors(t *testing.T) {
	dir := t.TempDir()
	semi := writeFile(t, dir, "semi.csv", []byte("a;b;y\n1;2;0\n3;4;1\n"))
	ragged := writeFile(t, dir, "ragged.csv", []byte("a;b;y\n1,5;2;0\n3;4,25;1\n"))
	single := writeFile(t, dir, "single.csv", []byte("x\n1\n2\n"))
	tests := []struct {
		name, data, delim, want string
	}{
		{name: "comma given for a semicolon file", data: semi, delim: ",",
			want: semi + ` has a single column "a;b;y" with delimiter ",": need feature columns and a label column (the file reads as ";"-delimited: set --delimiter or spec.data.delimiter to it, or leave it empty to detect it)`},
		{name: "comma given, decimal commas make the rows ragged", data: ragged, delim: ",",
			want: ragged + ` is not a valid CSV file: record on line 2: wrong number of fields (the file reads as ";"-delimited: set --delimiter or spec.data.delimiter to it, or leave it empty to detect it)`},
		{name: "one column", data: single,
			want: single + ` has a single column "x" with delimiter ",": need feature columns and a label column (is it a CSV?)`},
		{name: "unknown delimiter", data: semi, delim: "semicolon",
			want: `invalid --delimiter: unknown delimiter "semicolon": use one of ",", ";", "tab", "|", or leave it empty to detect it`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"preprocess", "--data", tt.data, "--label", "y", "--out", filepath.Join(t.TempDir(), "ds")}
			if tt.delim != "" {
				args = append(args, "--delimiter", tt.delim)
			}
			r := runStep(t, args...)
			if r.err == nil || r.err.Error() != tt.want {
				t.Errorf("err = %v\nwant   %s", r.err, tt.want)
			}
		})
	}
}

// TestPreprocessLabelDidYouMean: a label or excluded column that differs from a header by case or a typo is named.
func TestPreprocessLabelDidYouMean(t *testing.T) {
	dir := t.TempDir()
	data := writeFile(t, dir, "digits.csv", []byte("pixel_1,pixel_2,digit\n0,1,3\n1,0,7\n"))
	tests := []struct {
		name  string
		extra []string
		want  string
	}{
		{name: "label in the wrong case", extra: []string{"--label", "Digit"},
			want: `label column "Digit" is not in ` + data + ` (did you mean "digit"?) (columns: "pixel_1", "pixel_2", "digit")`},
		{name: "excluded column with a typo", extra: []string{"--label", "digit", "--exclude", "pixel1"},
			want: `excluded column "pixel1" is not in ` + data + ` (did you mean "pixel_1"?) (columns: "pixel_1", "pixel_2", "digit")`},
		{name: "nothing close", extra: []string{"--label", "target"},
			want: `label column "target" is not in ` + data + ` (columns: "pixel_1", "pixel_2", "digit")`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runStep(t, append([]string{"preprocess", "--data", data, "--out", filepath.Join(t.TempDir(), "ds")}, tt.extra...)...)
			if r.err == nil || r.err.Error() != tt.want {
				t.Errorf("err = %v\nwant   %s", r.err, tt.want)
			}
		})
	}
}

// missingCSV has 60 rows (30 per class, n makes each unique); 6 miss a feature value and one more its label.
// Three quarters of the rows of each class have size 5 and plan "basic", so any split's training median and mode
// are 5 and "basic".
func missingCSV(t *testing.T, dir string) string {
	var b strings.Builder
	b.WriteString("n,size,plan,y\n")
	for i := 0; i < 60; i++ {
		size, plan := "5", "basic"
		if i%4 == 3 {
			size, plan = fmt.Sprint(10+i), "pro"
		}
		switch i {
		case 0, 1, 2:
			size = "NA"
		case 4, 5, 6:
			plan = ""
		}
		label := []string{"no", "yes"}[i%2]
		if i == 8 {
			label = "?"
		}
		fmt.Fprintf(&b, "%d,%s,%s,%s\n", i, size, plan, label)
	}
	return writeFile(t, dir, "missing.csv", []byte(b.String()))
}

// TestPreprocessImpute: --missing=impute keeps the rows with a missing feature value (only the missing label drops
// its row), records the fills in the schema, and the model serves a missing value as the same fill.
func TestPreprocessImpute(t *testing.T) {
	dir := t.TempDir()
	data := missingCSV(t, dir)

	drop := mustRun(t, "preprocess", "--data", data, "--label", "y", "--out", filepath.Join(dir, "dropped"))
	if drop.results["rows"] != "53" || drop.results["dropped-rows"] != "7" {
		t.Errorf("drop: rows=%s dropped-rows=%s, want 53 and 7", drop.results["rows"], drop.results["dropped-rows"])
	}

	ds := filepath.Join(dir, "imputed")
	r := mustRun(t, "preprocess", "--data", data, "--label", "y", "--missing", "impute", "--out", ds)
	if r.results["rows"] != "59" || r.results["dropped-rows"] != "1" {
		t.Errorf("impute: rows=%s dropped-rows=%s, want 59 and 1", r.results["rows"], r.results["dropped-rows"])
	}
	s := readSchema(t, ds)
	if s.Missing != "impute" || s.Counts.Imputed != 6 || s.Counts.DroppedMissing != 1 {
		t.Errorf("schema missing=%q imputed=%d droppedMissing=%d, want impute, 6, 1", s.Missing, s.Counts.Imputed, s.Counts.DroppedMissing)
	}
	type fill struct {
		Name, Fill string
		Imputed    int
	}
	var got []fill
	for _, c := range s.Columns {
		got = append(got, fill{c.Name, c.Fill, c.Imputed})
	}
	if len(got) == 3 && got[0].Name == "n" && got[0].Fill != "" && got[0].Imputed == 0 {
		got = got[1:] // n's median depends on the split; TestFitImputation checks the rule
	}
	if d := cmp.Diff([]fill{{"size", "5", 3}, {"plan", "basic", 3}}, got); d != "" {
		t.Errorf("fills (-want +got):\n%s", d)
	}
	wantLog := `imputed missing values in 6 rows (fitted on the training split): "size" 3× with median "5", "plan" 3× with most frequent "basic"`
	if !strings.Contains(r.stderr, wantLog) {
		t.Errorf("log does not say what was imputed, want %q in:\n%s", wantLog, r.stderr)
	}

	// Serving fills a missing value as preprocess did: "NA" and "" answer as 5 and "basic".
	model := mustRun(t, "train", "--dataset", ds, "--epochs", "20", "--out", filepath.Join(dir, "model")).results["model-uri"]
	srv := newTestServer(t, model)
	rows := func(size, plan string) map[string]any {
		return map[string]any{"inputs": []map[string]any{{"name": "rows", "shape": []int{1, 3}, "datatype": "BYTES", "data": []string{"31", size, plan}}}}
	}
	var filled, missing InferResponse
	postJSON(t, srv+"/v2/models/m/infer", rows("5", "basic"), 200, &filled)
	postJSON(t, srv+"/v2/models/m/infer", rows("NA", ""), 200, &missing)
	if d := cmp.Diff(filled.Outputs, missing.Outputs); d != "" {
		t.Errorf("a missing value is not served as its fill (-filled +missing):\n%s", d)
	}

	// A model of dropped rows has no fill: a missing value is refused.
	dropModel := mustRun(t, "train", "--dataset", filepath.Join(dir, "dropped"), "--epochs", "5", "--out", filepath.Join(dir, "model2")).results["model-uri"]
	var e struct{ Error string }
	postJSON(t, newTestServer(t, dropModel)+"/v2/models/m/infer", rows("NA", "basic"), 400, &e)
	if e.Error != `row 0: column "size" has a missing value` {
		t.Errorf("error = %q", e.Error)
	}
}

// TestSplitWarnings: a 20-row set (a test split of 4 rows) and a class too small for the test split are warned
// about by preprocess and again by evaluate, which records them in metrics.json.
func TestSplitWarnings(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("x,y\n")
	for i := 0; i < 20; i++ {
		fmt.Fprintf(&b, "%d,%s\n", i, []string{"a", "b"}[i%2])
	}
	b.WriteString("100,c\n")
	data := writeFile(t, dir, "small.csv", []byte(b.String()))
	ds := filepath.Join(dir, "ds")
	r := mustRun(t, "preprocess", "--data", data, "--label", "y", "--out", ds)
	want := []string{
		"warning: the test split has 4 rows, fewer than 30: its metrics move by 25.0 points per row; use more data or a larger test fraction (--test-fraction, spec.data.testFraction)",
		`warning: the test split has no row of class(es) "c": the metrics say nothing about them; use more data of those classes or a larger test fraction`,
	}
	for _, w := range want {
		if !strings.Contains(r.stderr, w+"\n") {
			t.Errorf("preprocess log lacks %q:\n%s", w, r.stderr)
		}
	}
	if d := cmp.Diff(map[string]int{"a": 2, "b": 2}, readSchema(t, ds).Counts.TestPerClass); d != "" {
		t.Errorf("testPerClass (-want +got):\n%s", d)
	}
	mustRun(t, "train", "--dataset", ds, "--epochs", "5", "--out", filepath.Join(dir, "model"))
	ev := mustRun(t, "evaluate", "--dataset", ds, "--model", filepath.Join(dir, "model"), "--threshold", "0", "--out", filepath.Join(dir, "metrics"))
	for _, w := range want {
		if !strings.Contains(ev.stdout, w+"\n") {
			t.Errorf("evaluate output lacks %q:\n%s", w, ev.stdout)
		}
	}
	var rep Report
	readJSON(t, filepath.Join(dir, "metrics", "metrics.json"), &rep)
	if len(rep.Warnings) < 2 || !strings.HasPrefix(rep.Warnings[len(rep.Warnings)-2], "the test split has 4 rows") {
		t.Errorf("metrics.json warnings = %q", rep.Warnings)
	}
}

// TestEvaluateMajorityBaseline: on a 98 % / 2 % set a model that learns nothing scores accuracy 0.98, which is
// what always predicting the majority does: evaluate says so, with each class's recall; on the churn example the
// model beats its baseline and nothing is said.
func TestEvaluateMajorityBaseline(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("x,y\n")
	for i := 0; i < 500; i++ {
		label := "no"
		if i%50 == 0 {
			label = "yes"
		}
		fmt.Fprintf(&b, "%d,%s\n", i, label)
	}
	data := writeFile(t, dir, "imbalanced.csv", []byte(b.String()))
	ds := filepath.Join(dir, "ds")
	mustRun(t, "preprocess", "--data", data, "--label", "y", "--out", ds)
	mustRun(t, "train", "--dataset", ds, "--epochs", "20", "--out", filepath.Join(dir, "model"))
	ev := mustRun(t, "evaluate", "--dataset", ds, "--model", filepath.Join(dir, "model"), "--threshold", "0.9", "--out", filepath.Join(dir, "metrics"))
	if ev.results["passed"] != "true" || ev.results["accuracy"] != "0.98" {
		t.Fatalf("passed=%s accuracy=%s, want true and 0.98 (the model predicts the majority)", ev.results["passed"], ev.results["accuracy"])
	}
	want := `warning: accuracy 0.9800 does not beat the majority-class baseline 0.9800 (predicting "no" for every row); recall per class: "no" 1.0000, "yes" 0.0000`
	if !strings.Contains(ev.stdout, want+"\n") {
		t.Errorf("evaluate output lacks\n%s\nin:\n%s", want, ev.stdout)
	}
	var rep Report
	readJSON(t, filepath.Join(dir, "metrics", "metrics.json"), &rep)
	if d := cmp.Diff(&Baseline{Class: "no", Metric: "accuracy", Value: 0.98, Beaten: false}, rep.Baseline); d != "" {
		t.Errorf("baseline (-want +got):\n%s", d)
	}
	if len(rep.PerClass) != 2 || rep.PerClass[1].Label != "yes" || rep.PerClass[1].Recall != 0 || rep.PerClass[1].Support != 2 {
		t.Errorf("per-class metrics = %+v, want yes with recall 0 and support 2", rep.PerClass)
	}

	churn, model := preparedDataset(t)
	ev = mustRun(t, "evaluate", "--dataset", churn, "--model", model, "--threshold", "0", "--out", filepath.Join(dir, "churn-metrics"))
	if strings.Contains(ev.stdout, "warning:") {
		t.Errorf("churn evaluation warns:\n%s", ev.stdout)
	}
}

// TestMajorityBaseline scores the baseline by hand: training shares a 2/10, b 5/10, c 3/10 make b the prediction
// and the shares the probabilities.
func TestMajorityBaseline(t *testing.T) {
	s := &ml.Schema{Classes: []string{"a", "b", "c"}, Features: []string{"x"}, Counts: ml.Counts{TrainPerClass: map[string]int{"a": 2, "b": 5, "c": 3}}}
	x := [][]float64{{1}, {-3}, {0}, {7}}
	y := []int{1, 1, 0, 2}
	tests := []struct {
		metric    string
		value     float64
		wantValue float64
		beaten    bool
	}{
		{"accuracy", 0.5, 0.5, false},
		{"accuracy", 0.75, 0.5, true},
		{"recall", 0.4, 1.0 / 3, true},
		{"log-loss", 1.0, -(2*math.Log(0.5) + math.Log(0.2) + math.Log(0.3)) / 4, true},
		{"log-loss", 1.2, -(2*math.Log(0.5) + math.Log(0.2) + math.Log(0.3)) / 4, false},
	}
	for _, tt := range tests {
		got, err := majorityBaseline(s, memoryDataset(t, ml.DenseFromRows(x, 1), y, 3), tt.metric, tt.value)
		if err != nil {
			t.Fatal(err)
		}
		want := &Baseline{Class: "b", Metric: tt.metric, Value: tt.wantValue, Beaten: tt.beaten}
		if d := cmp.Diff(want, got, cmpopts.EquateApprox(0, 1e-12)); d != "" {
			t.Errorf("%s %v (-want +got):\n%s", tt.metric, tt.value, d)
		}
	}
}

// newTestServer serves the model at uri as "m" and returns the server's URL.
func newTestServer(t *testing.T, uri string) string {
	t.Helper()
	m, _, err := LoadModel(context.Background(), uri)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(NewServer(m, "m", 0))
	t.Cleanup(srv.Close)
	return srv.URL
}
