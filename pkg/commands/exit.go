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
	"context"
	"errors"
	"fmt"
	"io"
)

// Exit statuses of mlpipe. `mlpipe run` uses all of them; the other verbs use ExitOK and ExitUsage.
const (
	// ExitOK means the command succeeded; for run, the PipelineRun succeeded and the gate passed.
	ExitOK = 0
	// ExitUsage means mlpipe could not do what was asked (bad flags, an invalid spec or Pipeline, nothing was run).
	ExitUsage = 1
	// ExitTaskFailed means the run ended Failed: a task (a finally task such as a refused alert included) failed or
	// timed out.
	ExitTaskFailed = 2
	// ExitGateFailed means every task succeeded but the model did not pass the gate (threshold or champion), so it was
	// neither registered nor deployed.
	ExitGateFailed = 3
	// ExitCancelled means the run was interrupted (Ctrl-C, SIGTERM) and recorded as Cancelled; 128+SIGINT as shells do.
	ExitCancelled = 130
)

// ExitError carries a process exit status without printing anything more.
type ExitError struct {
	Code int
	Err  error
}

// Error implements error.
func (e *ExitError) Error() string {
	if e.Err == nil {
		return ""
	}
	return e.Err.Error()
}

// Unwrap returns the wrapped error.
func (e *ExitError) Unwrap() error { return e.Err }

// ExitCode maps an error to the process exit status: ExitOK for nil, an ExitError's code, else ExitUsage.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	return ExitUsage
}

// Execute runs the mlpipe command line args with ctx (cancelled on Ctrl-C by the caller), prints the error, if
// any, to stderr and returns the process exit status.
func Execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := New()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err != nil {
		if msg := err.Error(); msg != "" {
			fmt.Fprintln(stderr, msg)
		}
	}
	return ExitCode(err)
}
