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
