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
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mlpipe/mlpipe/pkg/ml"
)

// TestPreprocessDropsColumns: an identifier column is dropped on its own, an excluded column is removed before
// cleaning (its missing values drop no row), and the model that is trained afterwards takes only the features.
func TestPreprocessDropsColumns(t *testing.T) {
	var b strings.Builder
	b.WriteString("\ufeffcustomer id,\"Monthly, USD\",plan,note,churned\r\n")
	for i := 0; i < 120; i++ {
		note := fmt.Sprintf("\"called, %d\"", i)
		if i%10 == 0 {
			note = "" // missing, but the column is excluded: the row stays
		}
		plan := []string{"basic", "pro"}[i%2]
		fmt.Fprintf(&b, "C-%04d,%d,%s,%s,%d\r\n", i, 10+i%50, plan, note, i%2)
	}
	dir := t.TempDir()
	data := writeFile(t, dir, "customers.csv", []byte(b.String()))
	out := filepath.Join(dir, "dataset")
	r := mustRun(t, "preprocess", "--data", data, "--label", "churned", "--exclude", "note", "--out", out)
	if r.results["rows"] != "120" || r.results["dropped-rows"] != "0" {
		t.Errorf("rows=%s dropped-rows=%s, want 120 and 0: an excluded column must not drop rows", r.results["rows"], r.results["dropped-rows"])
	}
	raw, err := os.ReadFile(filepath.Join(out, "schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s ml.Schema
	if err := jsonUnmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	want := []ml.DroppedColumn{{Name: "note", Reason: "excluded"}, {Name: "customer id", Reason: "identifier"}}
	if d := cmp.Diff(want, s.DroppedColumns); d != "" {
		t.Errorf("dropped columns (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"Monthly, USD", "plan=basic", "plan=pro"}, s.Features); d != "" {
		t.Errorf("features (-want +got):\n%s", d)
	}
	if !strings.Contains(r.stderr, `dropped column "customer id"`) || !strings.Contains(r.stderr, "excluded 1 column(s) from the features: note") {
		t.Errorf("the log does not say which columns were dropped:\n%s", r.stderr)
	}

	// A name with a comma is excluded with CSV quoting, as the generated Pipeline passes it.
	out2 := filepath.Join(dir, "dataset2")
	mustRun(t, "preprocess", "--data", data, "--label", "churned", "--exclude", `note,"Monthly, USD"`, "--out", out2)
	raw, err = os.ReadFile(filepath.Join(out2, "schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	s = ml.Schema{}
	if err := jsonUnmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"plan=basic", "plan=pro"}, s.Features); d != "" {
		t.Errorf("features with a quoted exclusion (-want +got):\n%s", d)
	}

	// Train and evaluate work on what is left.
	model := filepath.Join(dir, "model")
	mustRun(t, "train", "--dataset", out, "--epochs", "5", "--out", model)
	ev := mustRun(t, "evaluate", "--dataset", out, "--model", model, "--threshold", "0", "--out", filepath.Join(dir, "metrics"))
	if ev.results["passed"] != "true" {
		t.Errorf("evaluate passed=%q, want true at threshold 0", ev.results["passed"])
	}
}
