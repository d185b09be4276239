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
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mlpipe/mlpipe/pkg/ml"
)

// TestEndToEndChurn runs preprocess → train → evaluate → register → serve on the bundled churn CSV.
func TestEndToEndChurn(t *testing.T) {
	dir := t.TempDir()
	data := repoFile(t, "examples/data/churn.csv")
	dsURI := "file://" + filepath.Join(dir, "dataset")

	pre := mustRun(t, "preprocess", "--data", data, "--label", "churned", "--out", dsURI)
	if diff := cmp.Diff(map[string]string{
		"dataset-uri":    dsURI,
		"dataset-digest": pre.results["dataset-digest"],
		"rows":           "394",
		"dropped-rows":   "11",
	}, pre.results); diff != "" {
		t.Errorf("preprocess results (-want +got):\n%s", diff)
	}
	if got := filesUnder(t, filepath.Join(dir, "dataset")); !cmp.Equal(got, []string{"schema.json", "test.arrow", "train.arrow"}) {
		t.Errorf("dataset files = %v", got)
	}
	var schema ml.Schema
	readJSON(t, filepath.Join(dir, "dataset", "schema.json"), &schema)
	if schema.Counts.DroppedMissing != 6 || schema.Counts.DroppedDuplicates != 5 {
		t.Errorf("dropped missing/duplicates = %d/%d, want 6/5", schema.Counts.DroppedMissing, schema.Counts.DroppedDuplicates)
	}
	if !cmp.Equal(schema.Classes, []string{"no", "yes"}) {
		t.Errorf("classes = %v", schema.Classes)
	}
	// Determinism: a second run with the same seed gives the same digest.
	again := mustRun(t, "preprocess", "--data", data, "--label", "churned", "--out", filepath.Join(dir, "dataset2"))
	if again.results["dataset-digest"] != pre.results["dataset-digest"] {
		t.Errorf("preprocess is not deterministic: %s vs %s", again.results["dataset-digest"], pre.results["dataset-digest"])
	}

	tr := mustRun(t, "train", "--dataset", dsURI, "--out", filepath.Join(dir, "model"))
	if !bytes.Contains([]byte(tr.stderr), []byte(fmt.Sprintf("epoch 1/%d loss ", ml.DefaultEpochs))) {
		t.Errorf("train progress missing:\n%s", tr.stderr)
	}
	modelURI := tr.results["model-uri"]
	if modelURI != "file://"+filepath.Join(dir, "model", "model.json") {
		t.Errorf("model-uri = %q", modelURI)
	}
	tr2 := mustRun(t, "train", "--dataset", dsURI, "--out", filepath.Join(dir, "model2"))
	if tr.results["model-digest"] != tr2.results["model-digest"] {
		t.Errorf("train is not deterministic for a seed")
	}

	ev := mustRun(t, "evaluate", "--dataset", dsURI, "--model", modelURI, "--metric", "accuracy",
		"--operator", ">=", "--threshold", "0.75", "--out", filepath.Join(dir, "eval"))
	acc, err := strconv.ParseFloat(ev.results["accuracy"], 64)
	if err != nil || acc < 0.75 {
		t.Fatalf("accuracy = %q (%v), want >= 0.75", ev.results["accuracy"], err)
	}
	if ev.results["passed"] != "true" || ev.results["metric-value"] != ev.results["accuracy"] {
		t.Errorf("evaluate results = %v", ev.results)
	}
	for _, want := range []string{"confusion (true \\ predicted)", "log-loss", "passed: true"} {
		if !bytes.Contains([]byte(ev.stdout), []byte(want)) {
			t.Errorf("evaluate output lacks %q:\n%s", want, ev.stdout)
		}
	}
	strict := mustRun(t, "evaluate", "--dataset", dsURI, "--model", modelURI, "--metric", "log-loss",
		"--operator", "<", "--threshold", "0.01", "--out", filepath.Join(dir, "eval-strict"))
	if strict.results["passed"] != "false" {
		t.Errorf("log-loss < 0.01 passed: %v", strict.results)
	}

	reg := filepath.Join(dir, "registry")
	rg := mustRun(t, "register", "--store", reg, "--model-name", "churn", "--model", modelURI,
		"--metrics", ev.results["metrics-uri"], "--dataset-digest", pre.results["dataset-digest"],
		"--param", "epochs=20", "--param", "learning-rate=0.1", "--pipeline-run", "churn-run-1")
	if rg.results["model-version"] != "1" {
		t.Errorf("model-version = %q", rg.results["model-version"])
	}
	var md Metadata
	readJSON(t, filepath.Join(reg, "churn", "v1", "metadata.json"), &md)
	if md.DatasetDigest != pre.results["dataset-digest"] || md.PipelineRun != "churn-run-1" ||
		md.Params["learning-rate"] != "0.1" || md.Metrics.Accuracy != acc || md.CodeVersion == "" || md.CreatedAt.IsZero() {
		t.Errorf("metadata = %+v", md)
	}
	var champ ChampionPointer
	readJSON(t, filepath.Join(reg, "churn", "champion"), &champ)
	if champ.Version != 1 || champ.ModelURI != rg.results["model-uri"] {
		t.Errorf("champion = %+v", champ)
	}

	// The champion's own model (a rerun on unchanged data and params) has nothing to beat, also with min-delta.
	rerun := mustRun(t, "evaluate", "--dataset", dsURI, "--model", modelURI, "--threshold", "0.5",
		"--out", filepath.Join(dir, "eval-rerun"), "--registry", reg, "--model-name", "churn", "--min-delta", "0.01")
	if rerun.results["passed"] != "true" || rerun.results["champion-value"] != "" || !strings.Contains(rerun.stdout, "champion v1 is this model (same digest): nothing to beat") {
		t.Errorf("the champion's own model: %v, want passed true and no champion-value\n%s", rerun.results, rerun.stdout)
	}
	// Another model.json (other bytes, other digest) that predicts exactly as the champion does: it does not beat
	// the champion by 0.01, and a tie never beats it, also with min-delta 0.
	same := sameModelOtherBytes(t, dir, modelURI)
	gated := mustRun(t, "evaluate", "--dataset", dsURI, "--model", same, "--threshold", "0.5",
		"--out", filepath.Join(dir, "eval-gated"), "--registry", reg, "--model-name", "churn", "--min-delta", "0.01")
	if gated.results["passed"] != "false" {
		t.Errorf("an equal model passed the champion with min-delta 0.01: %v\n%s", gated.results, gated.stdout)
	}
	tie := mustRun(t, "evaluate", "--dataset", dsURI, "--model", same, "--threshold", "0.5",
		"--out", filepath.Join(dir, "eval-tie"), "--registry", reg, "--model-name", "churn")
	if tie.results["passed"] != "false" || tie.results["champion-value"] != tie.results["metric-value"] {
		t.Errorf("a tie with min-delta 0: %v, want passed false and champion-value = metric-value", tie.results)
	}

	// Serve the registered model and ask it about two clear-cut customers.
	m, _, err := LoadModel(context.Background(), rg.results["model-uri"])
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(NewServer(m, "churn", 0))
	defer srv.Close()
	req := map[string]any{
		"id": "req-1",
		"inputs": []map[string]any{
			{"name": "tenure_months", "shape": []int{2}, "datatype": "INT64", "data": []any{2, 70}},
			{"name": "monthly_charges", "shape": []int{2}, "datatype": "FP64", "data": []any{95.5, 25.0}},
			{"name": "support_calls", "shape": []int{2}, "datatype": "INT64", "data": []any{6, 0}},
			{"name": "contract", "shape": []int{2}, "datatype": "BYTES", "data": []any{"month-to-month", "two-year"}},
			{"name": "plan", "shape": []int{2}, "datatype": "BYTES", "data": []any{"premium", "basic"}},
			{"name": "region", "shape": []int{2}, "datatype": "BYTES", "data": []any{"north", "east"}},
			{"name": "paperless_billing", "shape": []int{2}, "datatype": "BYTES", "data": []any{"yes", "no"}},
		},
	}
	var resp InferResponse
	postJSON(t, srv.URL+"/v2/models/churn/infer", req, http.StatusOK, &resp)
	if resp.ID != "req-1" || len(resp.Outputs) != 2 {
		t.Fatalf("response = %+v", resp)
	}
	if got := resp.Outputs[0].Data; !cmp.Equal(got, []any{"yes", "no"}) {
		t.Errorf("predicted_class = %v, want [yes no]", got)
	}
	probs := resp.Outputs[1].Data.([]any)
	if len(probs) != 4 || probs[1].(float64) < 0.5 || probs[2].(float64) < 0.5 {
		t.Errorf("probabilities = %v", probs)
	}

	// The same two rows as one [N, C] BYTES tensor of rows.
	rows := map[string]any{"inputs": []map[string]any{{
		"name": "rows", "shape": []int{2, 7}, "datatype": "BYTES",
		"data": [][]string{
			{"2", "95.5", "6", "month-to-month", "premium", "north", "yes"},
			{"70", "25", "0", "two-year", "basic", "east", "no"},
		},
	}}}
	var resp2 InferResponse
	postJSON(t, srv.URL+"/v2/models/churn/infer", rows, http.StatusOK, &resp2)
	if got := resp2.Outputs[0].Data; !cmp.Equal(got, []any{"yes", "no"}) {
		t.Errorf("rows mode predicted_class = %v, want [yes no]", got)
	}

	for _, path := range []string{"/v2/health/live", "/v2/health/ready", "/v2/models/churn", "/v2/models/churn/ready"} {
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Errorf("GET %s = %d", path, res.StatusCode)
		}
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func postJSON(t *testing.T, url string, body any, wantStatus int, out any) {
	t.Helper()
	data, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.Post(url, "application/json", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != wantStatus {
		var e map[string]any
		_ = json.NewDecoder(res.Body).Decode(&e)
		t.Fatalf("POST %s = %d (%v), want %d", url, res.StatusCode, e, wantStatus)
	}
	if err := json.NewDecoder(res.Body).Decode(out); err != nil {
		t.Fatal(err)
	}
}

// sameModelOtherBytes writes the model at uri (file://) again, indented: the same model with another digest.
func sameModelOtherBytes(t *testing.T, dir, uri string) string {
	t.Helper()
	b, err := os.ReadFile(strings.TrimPrefix(uri, "file://"))
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	out, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "same-model", "model.json")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return "file://" + path
}
