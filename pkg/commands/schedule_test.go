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

package commands

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCLI(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := New()
	var out, errb bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetArgs(args)
	err = cmd.ExecuteContext(context.Background())
	return out.String(), errb.String(), err
}

func TestScheduleNext(t *testing.T) {
	dir := t.TempDir()
	manifest := filepath.Join(dir, "schedule.yaml")
	if err := os.WriteFile(manifest, []byte(`apiVersion: mlpipe.dev/v1alpha1
kind: PipelineSchedule
metadata: {name: nightly}
spec:
  schedule: "0 12 * * *"
  schedules: ["0 6 * * *"]
  timeZone: Asia/Tokyo
  pipelineRunTemplate:
    pipelineRef: {name: churn}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	from := []string{"--from", "2026-03-27T00:00:00Z", "-n", "3"}
	tests := []struct {
		name       string
		args       []string
		wantOut    string
		wantStderr string
		wantErr    string
	}{{
		name:    "positional expression, plain output when not a terminal",
		args:    []string{"schedule", "next", "0 2 * * 7", "--time-zone", "America/New_York"},
		wantOut: "2026-03-29T02:00:00-04:00\n2026-04-05T02:00:00-04:00\n2026-04-12T02:00:00-04:00\n",
	}, {
		name:       "the spring-forward gap is noted on stderr",
		args:       []string{"schedule", "next", "--cron", "30 2 * * *", "--time-zone", "Europe/Berlin"},
		wantOut:    "2026-03-27T02:30:00+01:00\n2026-03-28T02:30:00+01:00\n2026-03-29T03:00:00+02:00\n",
		wantStderr: "DST: 2026-03-29 02:30 does not exist",
	}, {
		name:    "an mlpipe.yaml's triggers.schedule in its zone",
		args:    []string{"schedule", "next", "-f", filepath.Join("..", "..", "examples", "pytorch-gpu", "mlpipe.yaml"), "-o", "table"},
		wantOut: "#  SLOT (Europe/Berlin)       UTC               DST\n1  Mon 2026-03-30 02:00 CEST  2026-03-30 00:00  \n",
	}, {
		name:    "in UTC the table has no second UTC column",
		args:    []string{"schedule", "next", "0 2 * * *", "-o", "table"},
		wantOut: "#  SLOT (UTC)                DST\n1  Fri 2026-03-27 02:00 UTC  \n",
	}, {
		name:    "a PipelineSchedule manifest: both schedules merged, in its zone",
		args:    []string{"schedule", "next", "-f", manifest, "-o", "json"},
		wantOut: `"time": "2026-03-27T12:00:00+09:00"`,
	}, {
		name:    "no schedule at all",
		args:    []string{"schedule", "next"},
		wantErr: "no schedule: give a cron expression",
	}, {
		name:    "an mlpipe.yaml without a schedule",
		args:    []string{"schedule", "next", "-f", filepath.Join("..", "..", "examples", "churn", "mlpipe.yaml")},
		wantErr: "spec.triggers.schedule is not set",
	}, {
		name:    "a bad expression",
		args:    []string{"schedule", "next", "0 0 L * *"},
		wantErr: `invalid cron expression "0 0 L * *"`,
	}, {
		name:    "a bad output",
		args:    []string{"schedule", "next", "@daily", "-o", "yaml"},
		wantErr: `invalid --output "yaml"`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, stderr, err := runCLI(t, append(tt.args, from...)...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v\nstderr: %s", err, stderr)
			}
			if !strings.Contains(out, tt.wantOut) {
				t.Errorf("stdout:\n%s\nwant it to contain:\n%s", out, tt.wantOut)
			}
			if !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("stderr:\n%s\nwant it to contain %q", stderr, tt.wantStderr)
			}
		})
	}
}
