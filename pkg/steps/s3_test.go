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
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/minio/minio-go/v7"

	"github.com/mlpipe/mlpipe/pkg/store/storetest"
)

// TestEndToEndS3 runs every step against s3:// URIs on a real MinIO server, including eight concurrent registers.
func TestEndToEndS3(t *testing.T) {
	m := storetest.Start(t)
	m.SetEnv(t)
	for _, b := range []string{"datasets", "work", "models"} {
		m.MakeBucket(t, b)
	}
	csvData, err := os.ReadFile(repoFile(t, "examples/data/churn.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Client.PutObject(context.Background(), "datasets", "churn/train.csv", bytes.NewReader(csvData),
		int64(len(csvData)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}

	pre := mustRun(t, "preprocess", "--data", "s3://datasets/churn/train.csv", "--label", "churned", "--out", "s3://work/run-1/dataset")
	if pre.results["dataset-uri"] != "s3://work/run-1/dataset" || pre.results["rows"] != "394" {
		t.Errorf("preprocess results = %v", pre.results)
	}
	local := mustRun(t, "preprocess", "--data", repoFile(t, "examples/data/churn.csv"), "--label", "churned", "--out", t.TempDir())
	if local.results["dataset-digest"] != pre.results["dataset-digest"] {
		t.Errorf("s3 and file datasets differ: %s vs %s", pre.results["dataset-digest"], local.results["dataset-digest"])
	}
	tr := mustRun(t, "train", "--dataset", pre.results["dataset-uri"], "--out", "s3://work/run-1/model")
	if tr.results["model-uri"] != "s3://work/run-1/model/model.json" {
		t.Errorf("model-uri = %q", tr.results["model-uri"])
	}
	ev := mustRun(t, "evaluate", "--dataset", pre.results["dataset-uri"], "--model", tr.results["model-uri"],
		"--threshold", "0.7", "--out", "s3://work/run-1/eval", "--registry", "s3://models/registry", "--model-name", "churn")
	if ev.results["passed"] != "true" || ev.results["metrics-uri"] != "s3://work/run-1/eval/metrics.json" {
		t.Errorf("evaluate results = %v", ev.results)
	}

	got := registerConcurrently(t, 8, "s3://models/registry", tr.results["model-uri"], ev.results["metrics-uri"])
	if diff := cmp.Diff([]int{1, 2, 3, 4, 5, 6, 7, 8}, got); diff != "" {
		t.Errorf("versions (-want +got):\n%s", diff)
	}
	checkRegistry(t, "s3://models/registry", 8)

	// The champion gate reads the champion from S3.
	gated := mustRun(t, "evaluate", "--dataset", pre.results["dataset-uri"], "--model", tr.results["model-uri"],
		"--threshold", "0.5", "--out", "s3://work/run-2/eval", "--registry", "s3://models/registry", "--model-name", "churn",
		"--min-delta", "0.05")
	if gated.results["passed"] != "false" {
		t.Errorf("passed against itself with min-delta 0.05: %v", gated.results)
	}

	model, _, err := LoadModel(context.Background(), "s3://models/registry/churn/v8/model.json")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(NewServer(model, "churn", 0))
	defer srv.Close()
	var resp InferResponse
	postJSON(t, srv.URL+"/v2/models/churn/infer", map[string]any{"inputs": []map[string]any{{
		"name": "rows", "shape": []int{1, 7}, "datatype": "BYTES",
		"data": []string{"70", "25", "0", "two-year", "basic", "east", "no"},
	}}}, http.StatusOK, &resp)
	if got := resp.Outputs[0].Data; !cmp.Equal(got, []any{"no"}) {
		t.Errorf("predicted_class = %v, want [no]", got)
	}
}
