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

package gate

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCheckDirection(t *testing.T) {
	tests := []struct {
		metric, operator string
		wantFix          string // "" means accepted
	}{
		{"accuracy", ">=", ""}, {"accuracy", ">", ""}, {"f1", "<", `use ">="`}, {"recall", "<=", `use ">="`},
		{"log-loss", "<=", ""}, {"log-loss", "<", ""}, {"log-loss", ">=", `use "<="`}, {"log-loss", ">", `use "<="`},
	}
	for _, tt := range tests {
		err := CheckDirection(tt.metric, tt.operator)
		switch {
		case tt.wantFix == "" && err != nil:
			t.Errorf("%s %s: %v, want accepted", tt.metric, tt.operator, err)
		case tt.wantFix != "" && (err == nil || !strings.Contains(err.Error(), tt.wantFix)):
			t.Errorf("%s %s: %v, want an error saying %s", tt.metric, tt.operator, err, tt.wantFix)
		}
	}
}

func TestLowerIsBetter(t *testing.T) {
	for metric, want := range map[string]bool{"log-loss": true, "accuracy": false, "precision": false, "recall": false, "f1": false} {
		if got := LowerIsBetter(metric); got != want {
			t.Errorf("LowerIsBetter(%q) = %v, want %v", metric, got, want)
		}
	}
}

func TestCompare(t *testing.T) {
	tests := []struct {
		v    float64
		op   string
		t    float64
		want bool
	}{
		{0.9, ">=", 0.9, true}, {0.9, ">", 0.9, false}, {0.3, "<", 0.5, true}, {0.5, "<=", 0.5, true}, {0.6, "<=", 0.5, false},
	}
	for _, tt := range tests {
		got, err := Compare(tt.v, tt.op, tt.t)
		if err != nil || got != tt.want {
			t.Errorf("Compare(%v %s %v) = %v, %v; want %v", tt.v, tt.op, tt.t, got, err, tt.want)
		}
	}
	if _, err := Compare(1, "==", 1); err == nil {
		t.Error(`Compare with "==" succeeded`)
	}
}

func TestDecide(t *testing.T) {
	champ := func(v float64) *Champion { return &Champion{Version: 3, Value: v} }
	tests := []struct {
		name        string
		in          Input
		wantPassed  bool
		wantReasons []string
	}{{
		name:       "above the threshold, no champion",
		in:         Input{Metric: "accuracy", Operator: ">=", Threshold: 0.8, Value: 0.85},
		wantPassed: true,
	}, {
		name:        "below the threshold, no champion",
		in:          Input{Metric: "accuracy", Operator: ">=", Threshold: 0.8, Value: 0.75},
		wantReasons: []string{"accuracy 0.7500 is not >= the threshold 0.8"},
	}, {
		name:       "beats the champion",
		in:         Input{Metric: "accuracy", Operator: ">=", Threshold: 0.8, Value: 0.9, Champion: champ(0.85), MinDelta: 0.01},
		wantPassed: true,
	}, {
		name:        "equal to the champion with min-delta 0",
		in:          Input{Metric: "accuracy", Operator: ">=", Threshold: 0.8, Value: 0.85, Champion: champ(0.85)},
		wantReasons: []string{"accuracy 0.8500 does not beat the champion v3 (0.8500) by more than min-delta 0 (higher is better)"},
	}, {
		name:       "the champion's own model (a rerun): nothing to beat",
		in:         Input{Metric: "accuracy", Operator: ">=", Threshold: 0.8, Value: 0.85, Champion: &Champion{Version: 3, Value: 0.85, SameModel: true}},
		wantPassed: true,
	}, {
		name:        "the champion's own model below the threshold",
		in:          Input{Metric: "accuracy", Operator: ">=", Threshold: 0.9, Value: 0.85, Champion: &Champion{Version: 3, Value: 0.85, SameModel: true}},
		wantReasons: []string{"accuracy 0.8500 is not >= the threshold 0.9"},
	}, {
		name:        "better than the champion by less than min-delta",
		in:          Input{Metric: "f1", Operator: ">", Threshold: 0.5, Value: 0.86, Champion: champ(0.85), MinDelta: 0.05},
		wantReasons: []string{"f1 0.8600 does not beat the champion v3 (0.8500) by more than min-delta 0.05 (higher is better)"},
	}, {
		name: "below the threshold and worse than the champion: both reasons",
		in:   Input{Metric: "accuracy", Operator: ">=", Threshold: 0.8, Value: 0.7, Champion: champ(0.9)},
		wantReasons: []string{
			"accuracy 0.7000 is not >= the threshold 0.8",
			"accuracy 0.7000 does not beat the champion v3 (0.9000) by more than min-delta 0 (higher is better)",
		},
	}, {
		name:       "log-loss below the threshold and the champion's",
		in:         Input{Metric: "log-loss", Operator: "<=", Threshold: 0.5, Value: 0.3, Champion: champ(0.4), MinDelta: 0.05},
		wantPassed: true,
	}, {
		name:        "log-loss higher than the champion's",
		in:          Input{Metric: "log-loss", Operator: "<=", Threshold: 0.5, Value: 0.45, Champion: champ(0.4)},
		wantReasons: []string{"log-loss 0.4500 does not beat the champion v3 (0.4000) by more than min-delta 0 (lower is better)"},
	}, {
		name: "log-loss above the threshold, champion beaten",
		in:   Input{Metric: "log-loss", Operator: "<", Threshold: 0.3, Value: 0.35, Champion: champ(0.6)},
		wantReasons: []string{
			"log-loss 0.3500 is not < the threshold 0.3",
		},
	}, {
		name:        "measured values are shown with four decimals",
		in:          Input{Metric: "accuracy", Operator: ">=", Threshold: 0.99, Value: 0.8227848101265823, Champion: champ(0.8354430379746836)},
		wantReasons: []string{"accuracy 0.8228 is not >= the threshold 0.99", "accuracy 0.8228 does not beat the champion v3 (0.8354) by more than min-delta 0 (higher is better)"},
	}, {
		name:        "a value that would round onto the threshold is shown in full",
		in:          Input{Metric: "accuracy", Operator: ">=", Threshold: 0.9, Value: 0.89996},
		wantReasons: []string{"accuracy 0.89996 is not >= the threshold 0.9"},
	}, {
		name:        "values that would round to beating the champion are shown in full",
		in:          Input{Metric: "accuracy", Operator: ">=", Threshold: 0.5, Value: 0.83546, Champion: champ(0.83544), MinDelta: 0.00005},
		wantReasons: []string{"accuracy 0.83546 does not beat the champion v3 (0.83544) by more than min-delta 0.00005 (higher is better)"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Decide(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if d.Passed != tt.wantPassed {
				t.Errorf("Passed = %v, want %v", d.Passed, tt.wantPassed)
			}
			if diff := cmp.Diff(tt.wantReasons, d.Reasons); diff != "" {
				t.Errorf("Reasons (-want +got):\n%s", diff)
			}
			if (tt.in.Champion != nil) != (d.ChampionPassed != nil) {
				t.Errorf("ChampionPassed = %v with champion %v", d.ChampionPassed, tt.in.Champion)
			}
		})
	}
}

func TestDecideRefuses(t *testing.T) {
	for _, in := range []Input{
		{Metric: "log-loss", Operator: ">=", Threshold: 0.5},
		{Metric: "accuracy", Operator: "==", Threshold: 0.5},
		{Metric: "accuracy", Operator: ">=", Threshold: 0.5, MinDelta: -0.1},
	} {
		if _, err := Decide(in); err == nil {
			t.Errorf("Decide(%+v) succeeded, want an error", in)
		}
	}
}

func TestFormatMetric(t *testing.T) {
	for v, want := range map[float64]string{1: "1.0000", 0.98: "0.9800", 0.8354430379746836: "0.8354", 3.06: "3.0600", 0: "0.0000", 0.99995: "1.0000"} {
		if got := FormatMetric(v); got != want {
			t.Errorf("FormatMetric(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestResults(t *testing.T) {
	in := Input{Metric: "accuracy", Operator: ">=", Threshold: 0.8, Value: 0.8333333333333334, Champion: &Champion{Version: 1, Value: 0.1}}
	got := Results(in, Decision{Passed: true})
	want := map[string]string{"metric-value": "0.8333333333333334", "champion-value": "0.1", "passed": "true"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Results (-want +got):\n%s", diff)
	}
	in.Champion = nil
	if got := Results(in, Decision{})["champion-value"]; got != "" {
		t.Errorf("champion-value without a champion = %q, want empty", got)
	}
}
