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
// Package e2e runs mlpipe's generated pipelines on a real node: a kubelet, containerd and runc run every step
// as a container of the images built from this checkout (test/cluster, Options.RealNode). The tests share one
// node, started by the first test that needs it and stopped after the last; each test takes its own namespace.
package e2e

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/mlpipe/mlpipe/pkg/commands"
	"github.com/mlpipe/mlpipe/test/cluster"
)

var (
	nodeOnce sync.Once
	shared   *cluster.Cluster
	nodeErr  error
	nodeSkip string
)

// selfEnv makes this test binary act as the mlpipe CLI, so that the local runner's steps (command
// mlpipe-step) run as "<test binary> step ...".
const selfEnv = "MLPIPE_E2E_SELF"

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
	if os.Getenv(childNodeEnv) == "1" {
		runChildNode()
	}
	code := m.Run()
	minioStop()
	if shared != nil {
		start := time.Now()
		if err := shared.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "error stopping the real node: %v\n", err)
			code = 1
		}
		fmt.Fprintf(os.Stderr, "real node stopped in %s\n", time.Since(start).Round(time.Millisecond))
		if left := cluster.NodeLeftOver(shared.NodeDir, shared.Bridge); len(left) > 0 {
			fmt.Fprintf(os.Stderr, "the real node left behind: %v\n", left)
			code = 1
		}
	}
	os.Exit(code)
}

// realNode returns the shared real-node cluster, starting it on first use. It skips the test when the machine
// cannot run one (fails it instead under MLPIPE_REQUIRE_TOOLS=1, as make test sets).
func realNode(t *testing.T) *cluster.Cluster {
	t.Helper()
	nodeOnce.Do(func() {
		tools, err := cluster.FindTools()
		if err != nil {
			nodeErr = err
			return
		}
		if err := cluster.RealNodeUnavailable(tools, "kubectl"); err != nil {
			nodeSkip = "no real node: " + err.Error()
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
		defer cancel()
		dir, err := os.MkdirTemp("", "mlpipe-e2e-")
		if err != nil {
			nodeErr = err
			return
		}
		start := time.Now()
		shared, nodeErr = cluster.New(ctx, cluster.Options{Dir: dir, Tools: tools, RealNode: true, Triggers: true,
			Logf: func(f string, a ...any) { fmt.Fprintf(os.Stderr, "e2e: "+f+"\n", a...) }})
		if nodeErr == nil {
			fmt.Fprintf(os.Stderr, "e2e: real node up in %s (%s); logs in %s\n", time.Since(start).Round(time.Millisecond), shared.Timings, dir)
		}
	})
	if nodeSkip != "" {
		cluster.Unavailable(t, nodeSkip)
	}
	if nodeErr != nil {
		t.Fatalf("error starting the real node: %v", nodeErr)
	}
	return shared
}
