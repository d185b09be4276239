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

package localrun

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mlpipe/mlpipe/pkg/clusteraccess"
)

// accessYAML has a script task and a built-in deploy step, both reporting the MLPIPE_CLUSTER_ACCESS they got;
// the script's Task tries to grant itself access, as the host does in the test.
const accessYAML = `
apiVersion: tekton.dev/v1
kind: Task
metadata: {name: script}
spec:
  results: [{name: access}]
  steps:
  - name: script
    image: busybox
    env: [{name: MLPIPE_CLUSTER_ACCESS, value: kubeconfig}]
    script: printf "%s" "$MLPIPE_CLUSTER_ACCESS" > $(results.access.path)
---
apiVersion: tekton.dev/v1
kind: Task
metadata: {name: deploy}
spec:
  results: [{name: access}]
  steps:
  - name: deploy
    image: ko://github.com/mlpipe/mlpipe/cmd/mlpipe-step
    command: [mlpipe-step]
    args: [deploy, --name=churn]
---
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: access}
spec:
  tasks:
  - {name: script, taskRef: {name: script}}
  - {name: deploy, taskRef: {name: deploy}}
`

// TestRunClusterAccess: every step gets MLPIPE_CLUSTER_ACCESS=none, which neither the host nor a Task
// overrides, unless DeployToCluster; then tasks running the deploy step are never cached, and other tasks keep
// their cache keys.
func TestRunClusterAccess(t *testing.T) {
	t.Setenv(clusteraccess.EnvVar, string(clusteraccess.Kubeconfig))
	objs := mustObjects(t, accessYAML, false)
	opts := testOptions(t)
	// The built-in steps run as this script: it reports the access the step was given.
	self := filepath.Join(t.TempDir(), "self.sh")
	if err := os.WriteFile(self, []byte(`printf "%s" "$MLPIPE_CLUSTER_ACCESS" > "$TEKTON_RESULTS_DIR/access"`), 0o644); err != nil {
		t.Fatal(err)
	}
	opts.SelfCommand = []string{"/bin/sh", self}

	type got struct {
		Script, Deploy             TaskStatus
		ScriptAccess, DeployAccess string
	}
	run := func(deployToCluster bool) got {
		t.Helper()
		o := opts
		o.DeployToCluster = deployToCluster
		res, err := Run(context.Background(), objs.Pipeline, objs.Tasks, o)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Succeeded() {
			t.Fatalf("run %s failed: %s", res.RunID, res.Message)
		}
		s, d := res.Task("script"), res.Task("deploy")
		return got{Script: s.Status, Deploy: d.Status, ScriptAccess: s.Results["access"], DeployAccess: d.Results["access"]}
	}
	tests := []struct {
		name            string
		deployToCluster bool
		want            got
	}{
		{name: "local", want: got{StatusSucceeded, StatusSucceeded, "none", "none"}},
		{name: "local rerun", want: got{StatusCached, StatusCached, "none", "none"}},
		{name: "--deploy-to-cluster", deployToCluster: true, want: got{StatusCached, StatusSucceeded, "none", "kubeconfig"}},
		{name: "--deploy-to-cluster rerun", deployToCluster: true, want: got{StatusCached, StatusSucceeded, "none", "kubeconfig"}},
	}
	for _, tt := range tests { // in order: each run sees the cache the earlier ones left
		if d := cmp.Diff(tt.want, run(tt.deployToCluster)); d != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, d)
		}
	}
}

// TestRunSaysDeployPrintedNotApplied: a local run records that its deploy task printed and applied nothing;
// with DeployToCluster it does not.
func TestRunSaysDeployPrintedNotApplied(t *testing.T) {
	objs := mustObjects(t, accessYAML, false)
	opts := testOptions(t)
	opts.SelfCommand = []string{"/bin/true"}
	for _, tt := range []struct {
		deployToCluster bool
		want            []string
	}{{false, []string{"deploy"}}, {true, nil}} {
		o := opts
		o.DeployToCluster = tt.deployToCluster
		res, err := Run(context.Background(), objs.Pipeline, objs.Tasks, o)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(tt.want, res.PrintedNotApplied); d != "" {
			t.Errorf("DeployToCluster %v: PrintedNotApplied (-want +got):\n%s", tt.deployToCluster, d)
		}
	}
}
