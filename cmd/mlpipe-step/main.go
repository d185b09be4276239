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

// Command mlpipe-step is the lean step binary of the default step image: `mlpipe-step preprocess|train|evaluate|
// register|deploy|alert|serve [flags]`. It carries no Tekton code.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/mlpipe/mlpipe/pkg/steps"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := steps.NewStepsRoot().ExecuteContext(ctx)
	stop()
	if err != nil {
		os.Exit(1)
	}
}
