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

package cluster

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// process is a child process in its own process group, logging to a file.
type process struct {
	cmd     *exec.Cmd
	logPath string
	log     *os.File
	// done is closed when the process has exited; err then holds what Wait returned.
	done chan struct{}
	err  error
}

func startProcess(path string, args, env []string, logPath string) (*process, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("error creating %s: %w", logPath, err)
	}
	cmd := exec.Command(path, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logFile, logFile
	setProcessGroup(cmd)
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("error starting %s: %w", path, err)
	}
	p := &process{cmd: cmd, logPath: logPath, log: logFile, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// stop asks the process group to terminate, and kills it after grace.
func (p *process) stop(grace time.Duration) error {
	defer p.log.Close()
	select {
	case <-p.done:
		return nil
	default:
	}
	if err := signalGroup(p.cmd, false); err != nil {
		return err
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(grace):
	}
	if err := signalGroup(p.cmd, true); err != nil {
		return err
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(5 * time.Second):
		return fmt.Errorf("process %d did not exit after SIGKILL", p.cmd.Process.Pid)
	}
}

// tailFile returns the last n lines of a file (or why it cannot).
func tailFile(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	var b strings.Builder
	for _, l := range lines {
		b.Write(l)
		b.WriteByte('\n')
	}
	return b.String()
}

// RunProcess starts bin for the test with env added to this process's environment, logging to logPath. When the
// test ends it stops the process group (SIGTERM, then SIGKILL after a second) and, if the test failed, logs the
// tail of the log.
func RunProcess(t testing.TB, logPath, bin string, args []string, env ...string) {
	t.Helper()
	p, err := startProcess(bin, args, append(os.Environ(), env...), logPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.stop(time.Second); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Logf("tail of %s:\n%s", logPath, tailFile(logPath, 80))
		}
	})
}
