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
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mlpipe/mlpipe/pkg/ml"
)

// gateFixture is the churn candidate (preprocessed with the default seed, trained, evaluated once) that the
// champion tests compare with different champions.
type gateFixture struct {
	dir, dataset, model string
}

func newGateFixture(t *testing.T) gateFixture {
	t.Helper()
	dir := t.TempDir()
	f := gateFixture{dir: dir, dataset: filepath.Join(dir, "dataset")}
	mustRun(t, "preprocess", "--data", repoFile(t, "examples/data/churn.csv"), "--label", "churned", "--out", f.dataset)
	f.model = mustRun(t, "train", "--dataset", f.dataset, "--out", filepath.Join(dir, "model")).results["model-uri"]
	return f
}

// champion trains a model on csv (label, extra preprocess flags) and registers it as the champion of "churn"
// in a new registry, which it returns.
func (f gateFixture) champion(t *testing.T, name, csv, label string, extra ...string) string {
	t.Helper()
	ds := filepath.Join(f.dir, name, "dataset")
	mustRun(t, append([]string{"preprocess", "--data", csv, "--label", label, "--out", ds}, extra...)...)
	model := mustRun(t, "train", "--dataset", ds, "--out", filepath.Join(f.dir, name, "model")).results["model-uri"]
	return f.register(t, name, ds, model)
}

// register evaluates model on ds and registers it as the champion of "churn" in a new registry.
func (f gateFixture) register(t *testing.T, name, ds, model string) string {
	t.Helper()
	ev := mustRun(t, "evaluate", "--dataset", ds, "--model", model, "--threshold", "0", "--out", filepath.Join(f.dir, name, "eval"))
	reg := filepath.Join(f.dir, name, "registry")
	mustRun(t, "register", "--store", reg, "--model-name", "churn", "--model", model, "--metrics", ev.results["metrics-uri"], "--dataset-digest", "sha256:x")
	return reg
}

// evaluate evaluates the candidate against the registry reg's champion and returns the results and metrics.json.
func (f gateFixture) evaluate(t *testing.T, reg string, args ...string) (stepRun, Report) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "eval")
	ev := mustRun(t, append([]string{"evaluate", "--dataset", f.dataset, "--model", f.model, "--out", out,
		"--registry", reg, "--model-name", "churn"}, args...)...)
	var r Report
	readJSON(t, filepath.Join(out, "metrics.json"), &r)
	return ev, r
}

// TestEvaluateSkipsAnIncomparableChampion: a champion trained for another label, other classes or other feature
// columns is not compared (its metrics say nothing about this data); the gate says why and decides on the
// threshold alone, and champion-value is empty so that the CEL gate decides the same.
func TestEvaluateSkipsAnIncomparableChampion(t *testing.T) {
	f := newGateFixture(t)
	churn := repoFile(t, "examples/data/churn.csv")
	data, err := os.ReadFile(churn)
	if err != nil {
		t.Fatal(err)
	}
	// The same data with the label's values renamed: same label and features, other classes.
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	for i := 1; i < len(lines); i++ {
		cut := strings.LastIndex(lines[i], ",")
		lines[i] = lines[i][:cut+1] + strings.ToUpper(lines[i][cut+1:])
	}
	renamed := writeFile(t, t.TempDir(), "churn-upper.csv", []byte(strings.Join(lines, "\n")+"\n"))

	tests := []struct {
		name        string
		registry    func() string
		wantSkipped string
	}{{
		name:        "other label",
		registry:    func() string { return f.champion(t, "iris", repoFile(t, "examples/data/iris.csv"), "Species") },
		wantSkipped: `champion v1 not compared: it predicts the label "Species", this model "churned"; the gate decided on the threshold alone`,
	}, {
		name:        "other classes",
		registry:    func() string { return f.champion(t, "upper", renamed, "churned") },
		wantSkipped: `champion v1 not compared: its classes are "NO", "YES", this model's "no", "yes"; the gate decided on the threshold alone`,
	}, {
		name:     "fewer feature columns",
		registry: func() string { return f.champion(t, "noregion", churn, "churned", "--exclude", "region") },
		wantSkipped: `champion v1 not compared: it has 6 feature columns [tenure_months, monthly_charges, support_calls, contract, plan, paperless_billing], ` +
			`this model 7 [tenure_months, monthly_charges, support_calls, contract, plan, region, paperless_billing]; the gate decided on the threshold alone`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, r := f.evaluate(t, tt.registry(), "--threshold", "0.5", "--min-delta", "0.01")
			if diff := cmp.Diff(tt.wantSkipped, r.Gate.ChampionSkipped); diff != "" {
				t.Errorf("championSkipped (-want +got):\n%s", diff)
			}
			if r.Gate.Champion != nil || ev.results["champion-value"] != "" {
				t.Errorf("champion compared: %+v, champion-value %q", r.Gate.Champion, ev.results["champion-value"])
			}
			if ev.results["passed"] != "true" || len(r.Gate.Reasons) != 0 {
				t.Errorf("passed = %q, reasons %q; want true on the threshold alone", ev.results["passed"], r.Gate.Reasons)
			}
			if !strings.Contains(ev.stdout, tt.wantSkipped) {
				t.Errorf("evaluate output lacks the reason:\n%s", ev.stdout)
			}
		})
	}
}

// TestEvaluateRescoresAChampionWithOtherStandardisation: a champion with the same columns whose numeric columns
// were standardised with other means and deviations is scored on the same rows encoded its own way. The
// champion here is the candidate rewritten for other means and deviations (weights and biases adjusted so that
// it predicts the same class probabilities from the same raw values), so its scores must be the candidate's.
func TestEvaluateRescoresAChampionWithOtherStandardisation(t *testing.T) {
	f := newGateFixture(t)
	m, _, err := LoadModel(t.Context(), f.model)
	if err != nil {
		t.Fatal(err)
	}
	j := 0
	for i, c := range m.Schema.Columns {
		if c.Type != ml.TypeNumeric {
			j += len(c.Categories)
			continue
		}
		// z' = (r-μ')/σ' with μ' = μ+1, σ' = 2σ: w' = w·σ'/σ, b' = b + w·(μ'-μ)/σ.
		mu, sigma := c.Mean+1, 2*c.Std
		for k := range m.Weights {
			m.Bias[k] += m.Weights[k][j] * (mu - c.Mean) / c.Std
			m.Weights[k][j] *= sigma / c.Std
		}
		m.Schema.Columns[i].Mean, m.Schema.Columns[i].Std = mu, sigma
		j++
	}
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(f.dir, "restd"), 0o755); err != nil {
		t.Fatal(err)
	}
	champModel := writeFile(t, filepath.Join(f.dir, "restd"), "model.json", data)
	reg := f.register(t, "restd", f.dataset, champModel)

	for _, metric := range []string{"accuracy", "log-loss"} {
		op := map[string]string{"accuracy": ">=", "log-loss": "<="}[metric]
		// --min-delta 1e-12: the champion's scores equal the candidate's up to rounding (its re-encoding and
		// rewritten weights round differently), which must not count as beating it in either direction.
		ev, r := f.evaluate(t, reg, "--metric", metric, "--operator", op, "--threshold", map[string]string{"accuracy": "0.5", "log-loss": "5"}[metric],
			"--min-delta", "1e-12")
		if r.Gate.Champion == nil {
			t.Fatalf("%s: champion not compared: %q", metric, r.Gate.ChampionSkipped)
		}
		value, _ := strconv.ParseFloat(ev.results["metric-value"], 64)
		champ, err := strconv.ParseFloat(ev.results["champion-value"], 64)
		if err != nil || math.Abs(champ-value) > 1e-9 {
			t.Errorf("%s: champion-value %q, want the candidate's %q", metric, ev.results["champion-value"], ev.results["metric-value"])
		}
		// Equal to the champion: not better, so the gate fails on the champion alone.
		if ev.results["passed"] != "false" || len(r.Gate.Reasons) != 1 || !strings.Contains(r.Gate.Reasons[0], "does not beat the champion v1") {
			t.Errorf("%s: passed %q, reasons %q; want false for not beating the champion", metric, ev.results["passed"], r.Gate.Reasons)
		}
	}
}

// TestEvaluateGivesEveryReason: a model below the threshold that also does not beat the champion reports both
// reasons, in metrics.json and in its output.
func TestEvaluateGivesEveryReason(t *testing.T) {
	f := newGateFixture(t)
	// The champion predicts exactly as the candidate does but is another model.json (not the candidate itself).
	reg := f.register(t, "self", f.dataset, sameModelOtherBytes(t, t.TempDir(), f.model))
	ev, r := f.evaluate(t, reg, "--threshold", "0.99")
	// The result keeps full precision; the reasons show it with four decimals.
	full, err := strconv.ParseFloat(ev.results["metric-value"], 64)
	if err != nil {
		t.Fatal(err)
	}
	v := fmt.Sprintf("%.4f", full)
	want := []string{
		"accuracy " + v + " is not >= the threshold 0.99",
		"accuracy " + v + " does not beat the champion v1 (" + v + ") by more than min-delta 0 (higher is better)",
	}
	if diff := cmp.Diff(want, r.Gate.Reasons); diff != "" {
		t.Errorf("reasons (-want +got):\n%s", diff)
	}
	for _, w := range want {
		if !strings.Contains(ev.stdout, w) {
			t.Errorf("evaluate output lacks %q:\n%s", w, ev.stdout)
		}
	}
	if ev.results["passed"] != "false" || r.Gate.ThresholdPassed || r.Gate.Champion == nil || r.Gate.Champion.Passed {
		t.Errorf("gate = %+v, results %v", r.Gate, ev.results)
	}
}

// TestRerunIsTheChampion: the same data preprocessed into another folder (another run's workspace) and trained
// with the same params gives a byte-identical model.json, so a rerun's evaluate recognises the champion's own
// model: the gate passes with nothing to beat, and no champion-value is written.
func TestRerunIsTheChampion(t *testing.T) {
	f := newGateFixture(t)
	reg := f.register(t, "first", f.dataset, f.model)

	rerun := filepath.Join(t.TempDir(), "elsewhere")
	mustRun(t, "preprocess", "--data", repoFile(t, "examples/data/churn.csv"), "--label", "churned", "--out", filepath.Join(rerun, "dataset"))
	model := mustRun(t, "train", "--dataset", filepath.Join(rerun, "dataset"), "--out", filepath.Join(rerun, "model")).results["model-uri"]
	a, err := os.ReadFile(strings.TrimPrefix(f.model, "file://"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(strings.TrimPrefix(model, "file://"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatalf("the same data and params in another folder trained another model.json:\n%s\n%s", a, b)
	}
	ev := mustRun(t, "evaluate", "--dataset", filepath.Join(rerun, "dataset"), "--model", model, "--out", filepath.Join(rerun, "eval"),
		"--threshold", "0.5", "--registry", reg, "--model-name", "churn", "--min-delta", "0.01")
	if ev.results["passed"] != "true" || ev.results["champion-value"] != "" {
		t.Errorf("rerun: passed %q, champion-value %q; want true and empty\n%s", ev.results["passed"], ev.results["champion-value"], ev.stdout)
	}
}
