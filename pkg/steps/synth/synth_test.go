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

package synth_test

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/mlpipe/mlpipe/pkg/steps/synth"
)

// TestBundledChurnIsReproducible regenerates examples/data/churn.csv with the defaults of hack/gen-data and
// compares it byte for byte with the bundled file.
func TestBundledChurnIsReproducible(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	bundled, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "..", "examples", "data", "churn.csv"))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	if err := w.Write(synth.Header); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteAll(synth.WithDefects(synth.Churn(400, 7), 6, 5, 7)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), bundled) {
		t.Error("examples/data/churn.csv differs from `go run ./hack/gen-data` output; regenerate it")
	}
}

func TestChurnShape(t *testing.T) {
	rows := synth.Churn(1000, 1)
	classes := map[string]int{}
	for _, r := range rows {
		if len(r) != len(synth.Header) {
			t.Fatalf("row has %d fields", len(r))
		}
		classes[r[len(r)-1]]++
	}
	if classes["yes"] < 100 || classes["no"] < 100 {
		t.Errorf("classes unbalanced: %v", classes)
	}
}
