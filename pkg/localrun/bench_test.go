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
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const noopTasks = 20

// noopPipeline is a chain of noopTasks tasks whose script does nothing.
func noopPipeline(b *testing.B) *Objects {
	var y strings.Builder
	y.WriteString("apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: noop}\nspec:\n  steps:\n  - name: noop\n    image: busybox\n    script: \"true\"\n---\n")
	y.WriteString("apiVersion: tekton.dev/v1\nkind: Pipeline\nmetadata: {name: noop}\nspec:\n  tasks:\n")
	for i := 0; i < noopTasks; i++ {
		fmt.Fprintf(&y, "  - name: t%d\n    taskRef: {name: noop}\n", i)
		if i > 0 {
			fmt.Fprintf(&y, "    runAfter: [t%d]\n", i-1)
		}
	}
	return mustObjects(b, y.String(), false)
}

// BenchmarkRunnerOverhead compares a 20-task chain of no-op scripts run by
// the runner with the same scripts run by a shell loop, in one benchmark.
func BenchmarkRunnerOverhead(b *testing.B) {
	objs := noopPipeline(b)
	dir := b.TempDir()
	var files []string
	for i := 0; i < noopTasks; i++ {
		f := filepath.Join(dir, fmt.Sprintf("script-%02d", i))
		if err := os.WriteFile(f, []byte("#!/bin/sh\nset -e\ntrue\n"), 0o755); err != nil {
			b.Fatal(err)
		}
		files = append(files, f)
	}
	loop := "for f in " + strings.Join(files, " ") + "; do \"$f\"; done"
	var runner, shell time.Duration
	for i := 0; i < b.N; i++ {
		opts := Options{Root: filepath.Join(dir, fmt.Sprint("state", i)), SelfCommand: []string{"/bin/false"}, NoCache: true, Parallel: 1}
		start := time.Now()
		res, err := Run(context.Background(), objs.Pipeline, objs.Tasks, opts)
		runner += time.Since(start)
		if err != nil || !res.Succeeded() {
			b.Fatalf("run: %v %+v", err, res)
		}
		start = time.Now()
		if out, err := exec.Command("/bin/sh", "-c", loop).CombinedOutput(); err != nil {
			b.Fatalf("shell loop: %v: %s", err, out)
		}
		shell += time.Since(start)
	}
	perTask := float64(runner.Nanoseconds()) / float64(b.N*noopTasks)
	shellPerTask := float64(shell.Nanoseconds()) / float64(b.N*noopTasks)
	b.ReportMetric(perTask, "runner-ns/task")
	b.ReportMetric(shellPerTask, "shell-ns/task")
	b.ReportMetric((perTask-shellPerTask)/1e6, "overhead-ms/task")
	b.ReportMetric(perTask/shellPerTask, "ratio")
}

// BenchmarkColdVsCached runs the gate pipeline cold and then rerun from the cache.
func BenchmarkColdVsCached(b *testing.B) {
	objs := gatePipeline(b, false)
	var cold, cached time.Duration
	for i := 0; i < b.N; i++ {
		opts := Options{Root: filepath.Join(b.TempDir(), ".mlpipe"), SelfCommand: []string{"/bin/false"}}
		start := time.Now()
		if _, err := Run(context.Background(), objs.Pipeline, objs.Tasks, opts); err != nil {
			b.Fatal(err)
		}
		cold += time.Since(start)
		start = time.Now()
		res, err := Run(context.Background(), objs.Pipeline, objs.Tasks, opts)
		if err != nil {
			b.Fatal(err)
		}
		cached += time.Since(start)
		if res.Task("prep").Status != StatusCached {
			b.Fatalf("rerun did not hit the cache")
		}
	}
	b.ReportMetric(float64(cold.Milliseconds())/float64(b.N), "cold-ms")
	b.ReportMetric(float64(cached.Milliseconds())/float64(b.N), "cached-ms")
}
