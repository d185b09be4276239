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
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// envYAML's step prints its whole environment, one NAME=value a line, into its working folder.
const envYAML = `
apiVersion: tekton.dev/v1
kind: Task
metadata: {name: printenv}
spec:
  steps:
  - name: printenv
    image: busybox
    env:
    - {name: DECLARED, value: "from the Task"}
    - name: TOKEN
      valueFrom: {secretKeyRef: {name: creds, key: token}}
    script: env > env.txt
---
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: env}
spec:
  tasks:
  - {name: printenv, taskRef: {name: printenv}}
`

// TestStepSeesOnlyDeclaredEnv: a step gets its declared env (a secretKeyRef read from its MLPIPE_SECRET_*), the
// runner's variables, the documented baseline of the host and what PassEnv names, and nothing else: not the
// other MLPIPE_SECRET_* variables, not the host's AWS keys, not an arbitrary host variable.
func TestStepSeesOnlyDeclaredEnv(t *testing.T) {
	t.Setenv("MLPIPE_SECRET_CREDS_TOKEN", "the step's token")
	t.Setenv("MLPIPE_SECRET_MLPIPE_ALERT_URL", "https://hooks.example.com/leak-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "leak-2")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "leak-3")
	t.Setenv("SOME_HOST_VARIABLE", "leak-4")
	t.Setenv("PASSED_ON_PURPOSE", "passed")
	t.Setenv("HOME", "/home/someone")
	objs := mustObjects(t, envYAML, false)
	opts := testOptions(t)
	opts.NoCache = true
	opts.PassEnv = []string{"PASSED_ON_PURPOSE"}
	res, err := Run(context.Background(), objs.Pipeline, objs.Tasks, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Succeeded() {
		t.Fatalf("run failed: %s", res.Message)
	}
	data, err := os.ReadFile(filepath.Join(res.Dir, "tasks", "printenv", "work", "env.txt"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		k, v, _ := strings.Cut(line, "=")
		got[k] = v
	}
	for _, leak := range []string{"leak-1", "leak-2", "leak-3", "leak-4"} {
		if strings.Contains(string(data), leak) {
			t.Errorf("the step saw %q:\n%s", leak, data)
		}
	}
	want := []string{"DECLARED", "TOKEN", "TEKTON_RESULTS_DIR", "MLPIPE_CLUSTER_ACCESS", "PASSED_ON_PURPOSE", "HOME",
		"PWD"} // PWD: exported by the shell that runs the script
	for _, k := range []string{"PATH", "USER", "LOGNAME", "SHELL", "TMPDIR", "TZ", "LANG", "LANGUAGE", "TERM"} {
		if _, ok := os.LookupEnv(k); ok {
			want = append(want, k)
		}
	}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "LC_") {
			k, _, _ := strings.Cut(kv, "=")
			want = append(want, k)
		}
	}
	var keys []string
	for k := range got {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	sort.Strings(want)
	if d := cmp.Diff(want, keys); d != "" {
		t.Errorf("variables the step saw (-want +got):\n%s", d)
	}
	for k, v := range map[string]string{"DECLARED": "from the Task", "TOKEN": "the step's token", "PASSED_ON_PURPOSE": "passed", "HOME": "/home/someone", "MLPIPE_CLUSTER_ACCESS": "none"} {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}
