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

package generate

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mlpipe/mlpipe/pkg/spec"
)

// TestGenerateDataOptions: spec.data.delimiter and spec.data.missing become the defaults of the Pipeline's
// delimiter and missing params, which reach the preprocess step's --delimiter and --missing flags.
func TestGenerateDataOptions(t *testing.T) {
	p, err := spec.Load("mlpipe.yaml", []byte(`apiVersion: mlpipe.dev/v1alpha1
kind: MLPipeline
metadata: {name: digits}
spec:
  data: {uri: "s3://datasets/digits.csv", label: digit, delimiter: ";", missing: impute}
`))
	if err != nil {
		t.Fatal(err)
	}
	out, err := Generate(context.Background(), p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defaults := map[string]string{}
	for _, ps := range out.Pipeline.Spec.Params {
		if ps.Name == "delimiter" || ps.Name == "missing" {
			defaults[ps.Name] = ps.Default.StringVal
		}
	}
	if d := cmp.Diff(map[string]string{"delimiter": ";", "missing": "impute"}, defaults); d != "" {
		t.Errorf("Pipeline param defaults (-want +got):\n%s", d)
	}
	passed := map[string]string{}
	for _, pv := range pipelineTask(out.Pipeline, "preprocess").Params {
		if pv.Name == "delimiter" || pv.Name == "missing" {
			passed[pv.Name] = pv.Value.StringVal
		}
	}
	if d := cmp.Diff(map[string]string{"delimiter": "$(params.delimiter)", "missing": "$(params.missing)"}, passed); d != "" {
		t.Errorf("preprocess task params (-want +got):\n%s", d)
	}
	var args []string
	for _, task := range out.Tasks {
		if task.Name == "mlpipe-preprocess" {
			args = task.Spec.Steps[0].Args
		}
	}
	want := []string{"--delimiter=$(params.delimiter)", "--missing=$(params.missing)"}
	var got []string
	for _, a := range args {
		for _, w := range want {
			if a == w {
				got = append(got, a)
			}
		}
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("preprocess step args %q (-want +got):\n%s", args, d)
	}
}
