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
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mlpipe/mlpipe/pkg/ml"
)

// TestPreprocessErrors feeds bad inputs to preprocess: each fails with a clear message and leaves nothing behind.
func TestPreprocessErrors(t *testing.T) {
	manyCities := "city,x,label\n" // 80 distinct cities, each in two rows: not an identifier
	for i := 0; i < 160; i++ {
		manyCities += fmt.Sprintf("city-%03d,%d,%d\n", i/2, i, i%2)
	}
	ab := []byte("a,b,y\n1,2,0\n3,4,1\n")
	price := "x,price\n" // a regression target: 120 distinct fractional values
	for i := 0; i < 120; i++ {
		price += fmt.Sprintf("%d,%d.5\n", i, i)
	}
	tests := []struct {
		name    string
		content []byte // nil: the file does not exist
		label   string
		extra   []string
		wantErr string
	}{
		{name: "missing file", content: nil, label: "y", wantErr: "does not exist"},
		{name: "empty CSV", content: []byte(""), label: "y", wantErr: "is empty"},
		{name: "whitespace only", content: []byte("\n \n"), label: "y", wantErr: "is empty"},
		{name: "not a CSV (binary)", content: []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00"), label: "y", wantErr: "not a CSV file"},
		{name: "not a CSV (JSON)", content: []byte(`{"a": "x", "b": 2}` + "\n" + `{"a": "y"}` + "\n"), label: "y", wantErr: "not a valid CSV file"},
		{name: "ragged rows", content: []byte("a,b,y\n1,2,0\n1,2\n"), label: "y", wantErr: "wrong number of fields"},
		{name: "header only", content: []byte("a,b,y\n"), label: "y", wantErr: "no data rows"},
		{name: "all rows missing values", content: []byte("a,b,y\n1,,0\nNA,2,1\n3,?,0\n"), label: "y", wantErr: "all 3 rows have missing values"},
		{name: "label column absent", content: []byte("a,b,y\n1,2,0\n3,4,1\n"), label: "churned", wantErr: `label column "churned" is not in`},
		{name: "one class only", content: []byte("a,b,y\n1,2,0\n3,4,0\n5,6,0\n"), label: "y", wantErr: "only one class"},
		{name: "non-numeric feature that cannot be encoded", content: []byte(manyCities), label: "label", wantErr: `column "city" is not numeric and has 80 distinct values`},
		{name: "continuous label", content: []byte(price), label: "price", wantErr: `label column "price" has 120 distinct values in 120 rows (more than --max-classes=100): its values look continuous (0.5, 1.5, …)`},
		{name: "too many classes", content: []byte(price), label: "price", extra: []string{"--max-classes", "10"}, wantErr: "more than --max-classes=10"},
		{name: "excluded column absent", content: ab, label: "y", extra: []string{"--exclude", "a,c"}, wantErr: `excluded column "c" is not in`},
		{name: "label excluded", content: ab, label: "y", extra: []string{"--exclude", "y"}, wantErr: `cannot exclude "y": it is the label column`},
		{name: "every feature excluded", content: ab, label: "y", extra: []string{"--exclude", "a", "--exclude", "b"}, wantErr: "no feature columns left"},
		{name: "bad test fraction", content: []byte("a,b,y\n1,2,0\n3,4,1\n"), label: "y", extra: []string{"--test-fraction", "1.5"}, wantErr: "--test-fraction must be between 0 and 1"},
		{name: "missing label flag", content: []byte("a,b,y\n1,2,0\n3,4,1\n"), label: "", wantErr: "missing required flag(s): --label (or MLPIPE_LABEL)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			data := filepath.Join(dir, "input.csv")
			if tt.content != nil {
				writeFile(t, dir, "input.csv", tt.content)
			}
			out := filepath.Join(dir, "out")
			args := []string{"preprocess", "--data", data, "--out", out}
			if tt.label != "" {
				args = append(args, "--label", tt.label)
			}
			r := runStep(t, append(args, tt.extra...)...)
			if r.err == nil {
				t.Fatalf("preprocess succeeded, want error containing %q", tt.wantErr)
			}
			if !strings.Contains(r.err.Error(), tt.wantErr) {
				t.Errorf("error = %q, want it to contain %q", r.err, tt.wantErr)
			}
			if files := filesUnder(t, out); len(files) != 0 {
				t.Errorf("artifacts left behind: %v", files)
			}
			if len(r.results) != 0 {
				t.Errorf("results written: %v", r.results)
			}
		})
	}
}

// TestEnvFlags checks that MLPIPE_<FLAG> stands in for unset flags.
func TestEnvFlags(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("MLPIPE_DATA", repoFile(t, "examples/data/churn.csv"))
	t.Setenv("MLPIPE_LABEL", "churned")
	t.Setenv("MLPIPE_TEST_FRACTION", "0.25")
	r := mustRun(t, "preprocess", "--out", filepath.Join(dir, "ds"))
	var s ml.Schema
	readJSON(t, filepath.Join(dir, "ds", "schema.json"), &s)
	if s.TestFraction != 0.25 || s.Label != "churned" || r.results["rows"] != "394" {
		t.Errorf("env flags not applied: testFraction=%v label=%q results=%v", s.TestFraction, s.Label, r.results)
	}
	t.Setenv("MLPIPE_EPOCHS", "zero")
	if r := runStep(t, "train", "--dataset", filepath.Join(dir, "ds"), "--out", filepath.Join(dir, "m")); r.err == nil ||
		!strings.Contains(r.err.Error(), "MLPIPE_EPOCHS") {
		t.Errorf("bad MLPIPE_EPOCHS: err = %v", r.err)
	}
}

// preparedDataset runs preprocess and train on the churn CSV and returns the dataset dir and model URI.
func preparedDataset(t *testing.T) (string, string) {
	t.Helper()
	dir := t.TempDir()
	ds := filepath.Join(dir, "ds")
	mustRun(t, "preprocess", "--data", repoFile(t, "examples/data/churn.csv"), "--label", "churned", "--out", ds)
	tr := mustRun(t, "train", "--dataset", ds, "--out", filepath.Join(dir, "model"), "--epochs", "5")
	return ds, tr.results["model-uri"]
}

// TestStepErrors covers failures of the other steps: each has a clear message and leaves no artifact.
func TestStepErrors(t *testing.T) {
	ds, model := preparedDataset(t)
	evalDir := t.TempDir()
	ev := mustRun(t, "evaluate", "--dataset", ds, "--model", model, "--threshold", "0", "--out", evalDir)
	metrics := ev.results["metrics-uri"]

	// A model whose weights do not fit its schema.
	bad := t.TempDir()
	data, err := os.ReadFile(strings.TrimPrefix(model, "file://"))
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(string(data), `"weights": [`+"\n    [", `"weights": [`+"\n    [0.5, ", 1)
	writeFile(t, bad, "model.json", []byte(broken))

	unreachable := map[string]string{"AWS_ENDPOINT_URL_S3": "http://127.0.0.1:1", "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y"}
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		outDir  string
		wantErr string
	}{
		{name: "train: dataset missing", args: []string{"train", "--dataset", filepath.Join(bad, "nope")}, outDir: "out", wantErr: "schema.json: object does not exist"},
		{name: "train: bad hyperparameters", args: []string{"train", "--dataset", ds, "--epochs", "0", "--learning-rate", "-1"}, outDir: "out", wantErr: "--epochs must be at least 1"},
		{name: "evaluate: model/schema mismatch", args: []string{"evaluate", "--dataset", ds, "--model", filepath.Join(bad, "model.json")}, outDir: "out", wantErr: "model/schema mismatch"},
		{name: "evaluate: bad operator", args: []string{"evaluate", "--dataset", ds, "--model", model, "--operator", "=="}, outDir: "out", wantErr: "invalid --operator"},
		{name: "evaluate: bad metric", args: []string{"evaluate", "--dataset", ds, "--model", model, "--metric", "auc"}, outDir: "out", wantErr: "unknown metric"},
		{name: "register: unreachable store", args: []string{"register", "--store", "s3://models/registry", "--model-name", "churn", "--model", model, "--metrics", metrics}, env: unreachable, wantErr: "127.0.0.1:1"},
		{name: "register: bad model name", args: []string{"register", "--model-name", "../x", "--model", model, "--metrics", metrics}, outDir: "store", wantErr: "invalid --model-name"},
		{name: "register: bad param", args: []string{"register", "--model-name", "churn", "--model", model, "--metrics", metrics, "--param", "novalue"}, outDir: "store", wantErr: "want key=value"},
		{name: "preprocess: unreachable store", args: []string{"preprocess", "--data", "s3://datasets/churn.csv", "--label", "churned", "--out", "s3://datasets/out"}, env: unreachable, wantErr: "127.0.0.1:1"},
		{name: "serve: model/schema mismatch", args: []string{"serve", "--model", filepath.Join(bad, "model.json"), "--name", "churn", "--addr", "127.0.0.1:0"}, wantErr: "model/schema mismatch"},
		{name: "deploy: bad name", args: []string{"deploy", "--model-uri", model, "--name", "Bad_Name", "--image", "img", "--dry-run"}, wantErr: "invalid --name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			args := tt.args
			out := t.TempDir()
			if tt.outDir == "store" {
				args = append(args, "--store", filepath.Join(out, "store"))
			} else if tt.outDir != "" {
				args = append(args, "--out", filepath.Join(out, tt.outDir))
			}
			start := time.Now()
			r := runStep(t, args...)
			if r.err == nil {
				t.Fatalf("succeeded, want error containing %q", tt.wantErr)
			}
			if !strings.Contains(r.err.Error(), tt.wantErr) {
				t.Errorf("error = %q, want it to contain %q", r.err, tt.wantErr)
			}
			if files := filesUnder(t, out); len(files) != 0 {
				t.Errorf("artifacts left behind: %v", files)
			}
			if len(r.results) != 0 {
				t.Errorf("results written: %v", r.results)
			}
			if d := time.Since(start); d > 30*time.Second {
				t.Errorf("took %s", d)
			}
		})
	}
}

// TestServeBadRequests sends malformed infer requests: each gets a 400 with a protocol error body.
func TestServeBadRequests(t *testing.T) {
	_, model := preparedDataset(t)
	m, _, err := LoadModel(context.Background(), model)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(NewServer(m, "churn", 1<<16))
	defer srv.Close()
	col := func(name, dt string, data ...any) string {
		return fmt.Sprintf(`{"name":%q,"shape":[%d],"datatype":%q,"data":%s}`, name, len(data), dt, mustJSON(t, data))
	}
	full := func(tenure any) string {
		return `{"inputs":[` + strings.Join([]string{
			col("tenure_months", "FP64", tenure), col("monthly_charges", "FP64", 50.0), col("support_calls", "INT64", 1),
			col("contract", "BYTES", "one-year"), col("plan", "BYTES", "basic"), col("region", "BYTES", "west"),
			col("paperless_billing", "BYTES", "no"),
		}, ",") + `]}`
	}
	tests := []struct {
		name       string
		path       string
		body       string
		wantStatus int
		wantErr    string
	}{
		{name: "not JSON", body: `{"inputs": [`, wantStatus: 400, wantErr: "malformed infer request"},
		{name: "no inputs", body: `{"inputs": []}`, wantStatus: 400, wantErr: "no inputs"},
		{name: "unknown input", body: `{"inputs":[` + col("age", "FP64", 1.0) + `]}`, wantStatus: 400, wantErr: `unknown input "age"`},
		{name: "missing column", body: `{"inputs":[` + col("tenure_months", "FP64", 1.0) + `]}`, wantStatus: 400, wantErr: "missing input(s) monthly_charges"},
		{name: "string in numeric tensor", body: full("ten"), wantStatus: 400, wantErr: `is FP64 but holds the string "ten"`},
		{name: "bad datatype", body: `{"inputs":[{"name":"x","shape":[1],"datatype":"FLOAT","data":[1]}]}`, wantStatus: 400, wantErr: "unsupported datatype"},
		{name: "shape mismatch", body: `{"inputs":[{"name":"tenure_months","shape":[3],"datatype":"FP64","data":[1]}]}`, wantStatus: 400, wantErr: "has 1 values but shape [3]"},
		{name: "rows of the wrong width", body: `{"inputs":[{"name":"rows","shape":[1,3],"datatype":"BYTES","data":["1","2","3"]}]}`, wantStatus: 400, wantErr: "rows must have 7 values"},
		{name: "non-numeric value in rows", body: `{"inputs":[{"name":"rows","shape":[1,7],"datatype":"BYTES","data":["x","2","3","one-year","basic","west","no"]}]}`, wantStatus: 400, wantErr: `column "tenure_months" is numeric, got "x"`},
		{name: "unknown category", body: `{"inputs":[{"name":"rows","shape":[1,7],"datatype":"BYTES","data":["3","50","1","one-year","platinum","west","no"]}]}`, wantStatus: 400,
			wantErr: `row 0: column "plan" has unknown category "platinum" (known categories: "basic", "premium", "standard")`},
		{name: "unknown output", body: strings.TrimSuffix(full(3), "}") + `,"outputs":[{"name":"logits"}]}`, wantStatus: 400, wantErr: `unknown output "logits"`},
		{name: "too large", body: `{"inputs":[{"name":"x","shape":[1],"datatype":"BYTES","data":["` + strings.Repeat("a", 1<<17) + `"]}]}`, wantStatus: 413, wantErr: "exceeds"},
		{name: "unknown model", path: "/v2/models/other/infer", body: full(3), wantStatus: 404, wantErr: `model "other" is not served here`},
		{name: "valid", body: full(3), wantStatus: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.path
			if path == "" {
				path = "/v2/models/churn/infer"
			}
			res, err := http.Post(srv.URL+path, "application/json", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", res.StatusCode, tt.wantStatus, body)
			}
			if tt.wantErr == "" {
				return
			}
			var e struct {
				Error string `json:"error"`
			}
			if err := jsonUnmarshal(body, &e); err != nil || !strings.Contains(e.Error, tt.wantErr) {
				t.Errorf("body = %s, want {\"error\": ...%q...}", body, tt.wantErr)
			}
		})
	}
}

// TestServeGracefulShutdown starts the server on loopback, checks readiness, cancels the context and expects a
// clean exit.
func TestServeGracefulShutdown(t *testing.T) {
	_, model := preparedDataset(t)
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- Serve(ctx, &ServeOptions{Model: model, Name: "churn", Addr: "127.0.0.1:0", Ready: func(a net.Addr) { addrc <- a }}, io.Discard)
	}()
	var addr net.Addr
	select {
	case addr = <-addrc:
	case err := <-errc:
		t.Fatal(err)
	}
	res, err := http.Get("http://" + addr.String() + "/v2/models/churn/ready")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Errorf("ready = %d", res.StatusCode)
	}
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Errorf("Serve returned %v after cancel", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not stop within 10s")
	}
}

// TestAlert covers delivery, retries, and the webhook being down.
func TestAlert(t *testing.T) {
	var got atomic.Value
	var calls atomic.Int32
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) < 3 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		body, _ := io.ReadAll(r.Body)
		got.Store(string(body))
	}))
	defer flaky.Close()
	rejecting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "invalid_token", http.StatusForbidden)
	}))
	defer rejecting.Close()
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close()

	args := []string{"alert", "--status", "Failed", "--pipeline-run", "churn-x7", "--metric", "accuracy",
		"--threshold", "0.9", "--value", "0.82", "--passed", "false", "--data-digest", "sha256:abc",
		"--failed-tasks", "train, deploy", "--backoff", "10ms", "--retries", "3"}
	tests := []struct {
		name    string
		url     string
		wantErr string
	}{
		{name: "delivered after retries", url: flaky.URL},
		{name: "webhook down", url: downURL, wantErr: "alert not delivered"},
		{name: "webhook rejects", url: rejecting.URL, wantErr: "403 Forbidden"},
		{name: "no webhook configured", url: "", wantErr: "ALERT_WEBHOOK_URL is not set"},
		{name: "not a URL", url: "ftp://x", wantErr: "not an http(s) URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(EnvAlertWebhookURL, tt.url)
			r := runStep(t, args...)
			if tt.wantErr == "" {
				if r.err != nil {
					t.Fatalf("alert failed: %v\n%s", r.err, r.stderr)
				}
				return
			}
			if r.err == nil || !strings.Contains(r.err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want it to contain %q", r.err, tt.wantErr)
			}
		})
	}
	if calls.Load() != 3 {
		t.Errorf("flaky webhook got %d calls, want 3", calls.Load())
	}
	var msg AlertMessage
	if err := jsonUnmarshal([]byte(got.Load().(string)), &msg); err != nil {
		t.Fatal(err)
	}
	if msg.PipelineRun != "churn-x7" || msg.Passed == nil || *msg.Passed || len(msg.FailedTasks) != 2 ||
		msg.DataDigest != "sha256:abc" || !strings.Contains(msg.Text, "failed tasks: train, deploy") {
		t.Errorf("message = %+v", msg)
	}
}

// TestEvaluateRefusesAGateThatPassesWorseModels: an operator passed at run time (tkn -p operator=...) that
// would let a worse model through is refused before anything is scored.
func TestEvaluateRefusesAGateThatPassesWorseModels(t *testing.T) {
	_, _, err := Evaluate(context.Background(), &EvaluateOptions{Metric: "log-loss", Operator: ">=", Threshold: 0.5, Out: t.TempDir()}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), `use "<="`) {
		t.Fatalf("Evaluate with log-loss >= : %v, want an error naming the fix", err)
	}
}
