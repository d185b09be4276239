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

package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/mlpipe/mlpipe/pkg/commands"
	"github.com/mlpipe/mlpipe/pkg/generate"
	"github.com/mlpipe/mlpipe/pkg/localrun"
	"github.com/mlpipe/mlpipe/pkg/spec"
)

// selfEnv makes this test binary act as the mlpipe CLI, so generated steps
// (command mlpipe-step) run as "<test binary> step ...".
const selfEnv = "MLPIPE_LOCALRUN_TEST_SELF"

func TestMain(m *testing.M) {
	if os.Getenv(selfEnv) == "1" {
		root := commands.New()
		root.SetArgs(os.Args[1:])
		if err := root.ExecuteContext(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(commands.ExitCode(err))
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestLocalRunExample runs the bundled example end to end: generated objects,
// built-in steps, gate, cache on a rerun that changes only epochs.
func TestLocalRunExample(t *testing.T) {
	t.Setenv(selfEnv, "1")
	t.Setenv("MLPIPE_SECRET_MLPIPE_ALERT_URL", "http://127.0.0.1:1/unused")
	ctx := context.Background()
	s, err := spec.LoadFile(filepath.Join("..", "..", "examples", "churn", "mlpipe.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s.LocalDataPath()
	s.Spec.Register.Store = "file://" + filepath.Join(t.TempDir(), "registry")
	out, err := generate.Generate(ctx, s, generate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(t.TempDir(), ".mlpipe")
	opts := localrun.Options{Root: root, SelfCommand: []string{os.Args[0]}}
	first, err := localrun.Run(ctx, out.Pipeline, out.Tasks, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !first.Succeeded() {
		for _, task := range first.Tasks {
			t.Logf("%s: %s %s %s", task.Name, task.Status, task.Reason, task.Message)
		}
		t.Fatalf("first run %s: %s", first.Status, first.Message)
	}
	opts.Params = map[string]string{"epochs": "5"}
	second, err := localrun.Run(ctx, out.Pipeline, out.Tasks, opts)
	if err != nil {
		t.Fatal(err)
	}
	if got := second.Task("preprocess"); got == nil || got.Status != localrun.StatusCached {
		t.Errorf("preprocess on the epochs-only rerun = %+v, want Cached", got)
	}
	if got := second.Task("train"); got == nil || got.Status == localrun.StatusCached {
		t.Errorf("train on the epochs-only rerun = %+v, want it to run", got)
	}
}
