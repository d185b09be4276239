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

// Package steps implements the step programs behind the pipeline's reusable Tasks: preprocess, train, evaluate,
// register, deploy, alert and serve. Each is a cobra command that reads its inputs from flags (or MLPIPE_<FLAG>
// environment variables), reads and writes artifacts through pkg/store (file:// and s3://), and writes its Tekton
// results as files into --results-dir.
//
// The package deliberately imports no Tekton package, so that the step image's binary (cmd/mlpipe-step) stays lean.
package steps

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// EnvPrefix is the prefix of the environment variables that stand in for unset flags: MLPIPE_<FLAG_UPPER_SNAKE>.
const EnvPrefix = "MLPIPE_"

// NewCommand returns the `step` command with one subcommand per step, for mounting as `mlpipe step ...`.
func NewCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "step",
		Short: "Run one pipeline step (preprocess, train, evaluate, register, deploy, alert, serve)",
		Long: "Run one pipeline step. These are the programs the generated Tekton Tasks call by default.\n" +
			"Every flag can also be given as an environment variable MLPIPE_<FLAG_UPPER_SNAKE> (e.g. MLPIPE_DATA);\n" +
			"results are written as files into --results-dir.",
		SilenceUsage: true,
	}
	cmd.AddCommand(Subcommands()...)
	return cmd
}

// NewStepsRoot returns a root command whose subcommands are the steps themselves, for the lean step binary
// (`mlpipe-step preprocess ...`).
func NewStepsRoot() *cobra.Command {
	cmd := NewCommand()
	cmd.Use = "mlpipe-step"
	cmd.SilenceErrors = false
	return cmd
}

// Subcommands returns a fresh set of the step commands.
func Subcommands() []*cobra.Command {
	return []*cobra.Command{
		newPreprocessCommand(),
		newTrainCommand(),
		newEvaluateCommand(),
		newRegisterCommand(),
		newDeployCommand(),
		newAlertCommand(),
		newServeCommand(),
		newCacheCommand(),
	}
}

// EnvName returns the environment variable that stands in for the flag name.
func EnvName(flag string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// bindEnv sets every flag that was not given on the command line from its MLPIPE_<FLAG> environment variable.
func bindEnv(cmd *cobra.Command) error {
	var errs []error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Changed || f.Name == "help" {
			return
		}
		v, ok := os.LookupEnv(EnvName(f.Name))
		if !ok {
			return
		}
		values := []string{v}
		if f.Value.Type() == "stringArray" {
			// Repeatable flags take one value per line from the environment.
			values = strings.FieldsFunc(v, func(r rune) bool { return r == '\n' })
		}
		for _, val := range values {
			if err := cmd.Flags().Set(f.Name, val); err != nil {
				errs = append(errs, fmt.Errorf("invalid %s=%q: %w", EnvName(f.Name), v, err))
			}
		}
	})
	return errors.Join(errs...)
}

// requireFlags fails when any of the named flags is empty after environment binding.
func requireFlags(cmd *cobra.Command, names ...string) error {
	var missing []string
	for _, n := range names {
		f := cmd.Flags().Lookup(n)
		if f == nil || strings.TrimSpace(f.Value.String()) == "" || f.Value.String() == "[]" {
			missing = append(missing, fmt.Sprintf("--%s (or %s)", n, EnvName(n)))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing required flag(s): %s", strings.Join(missing, ", "))
	}
	return nil
}

// runE adapts a step body to cobra: it binds environment variables, checks required flags, then runs fn
// through the cache (withCache, cache.go).
func runE(required []string, fn func(cmd *cobra.Command) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, _ []string) error {
		if err := bindEnv(cmd); err != nil {
			return err
		}
		if err := requireFlags(cmd, required...); err != nil {
			return recordError(err)
		}
		return recordError(withCache(cmd, fn))
	}
}

// ErrorFileEnv names the file a failing step writes its error to (the generated Tasks set it to
// $(workspaces.artifacts.path)/errors/<step>.txt), so that the alert in finally can quote it: Tekton gives a
// finally task the status of a failed task, not its message.
const ErrorFileEnv = "MLPIPE_ERROR_FILE"

// recordError writes err to $MLPIPE_ERROR_FILE when it is set, and returns err.
func recordError(err error) error {
	path := os.Getenv(ErrorFileEnv)
	if err == nil || path == "" {
		return err
	}
	if mkErr := os.MkdirAll(filepath.Dir(path), 0o755); mkErr == nil {
		_ = os.WriteFile(path, []byte(err.Error()+"\n"), 0o644)
	}
	return err
}

// defaultResultsDir is TEKTON_RESULTS_DIR, else /tekton/results.
func defaultResultsDir() string {
	if d := os.Getenv("TEKTON_RESULTS_DIR"); d != "" {
		return d
	}
	return "/tekton/results"
}

// addResultsDirFlag registers --results-dir on cmd.
func addResultsDirFlag(cmd *cobra.Command, dir *string) {
	cmd.Flags().StringVar(dir, "results-dir", defaultResultsDir(),
		"directory to write Tekton results into, one file per result (default: $TEKTON_RESULTS_DIR or /tekton/results)")
}

// result is one Tekton result.
type result struct{ name, value string }

// writeResults writes each result as a file named after it, atomically and without a trailing newline.
func writeResults(dir string, results ...result) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("error creating results directory %s: %w", dir, err)
	}
	for _, r := range results {
		f, err := os.CreateTemp(dir, ".tmp-"+r.name+"-*")
		if err != nil {
			return fmt.Errorf("error writing result %s: %w", r.name, err)
		}
		_, err = f.WriteString(r.value)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(f.Name(), filepath.Join(dir, r.name))
		}
		if err != nil {
			_ = os.Remove(f.Name())
			return fmt.Errorf("error writing result %s: %w", r.name, err)
		}
	}
	return nil
}
