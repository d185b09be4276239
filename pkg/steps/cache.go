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

package steps

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/utils/clock"

	"github.com/mlpipe/mlpipe/pkg/cache"
)

// cacheClock is the clock of the cache's entry times and max age.
var cacheClock clock.PassiveClock = clock.RealClock{}

// withCache runs fn through the cache when the step's environment configures one (see cache.EnvFrom): on a
// hit it restores the step's outputs and results and skips fn; on a miss it runs fn and stores them. It writes
// the results cache (hit|miss|off) and cache-key whenever the Task carries a digest (the generator declares
// those results then). The cache never fails a step: a store that cannot be read or written means the step
// runs, and says so.
func withCache(cmd *cobra.Command, fn func(cmd *cobra.Command) error) error {
	env, err := cache.EnvFrom(nil)
	if !cache.CachedStep(cmd.Name()) || env.Task == "" && env.Store == "" {
		return fn(cmd)
	}
	log := cmd.ErrOrStderr()
	resultsDir := flagValue(cmd, "results-dir")
	if err != nil {
		env.Disabled = err.Error()
	}
	if env.Disabled != "" {
		fmt.Fprintf(log, "cache off: %s\n", env.Disabled)
		if err := fn(cmd); err != nil {
			return err
		}
		return writeCacheResults(resultsDir, cache.Off, "")
	}
	ctx := cmdContext(cmd)
	sc := &stepCache{env: env, log: log, resultsDir: resultsDir, out: flagValue(cmd, "out"), task: env.PipelineTask}
	if sc.task == "" {
		sc.task = cmd.Name()
	}
	hit, err := sc.check(ctx, cmd.Name())
	if err != nil || hit {
		return err
	}
	if err := fn(cmd); err != nil {
		return err
	}
	return sc.store(ctx)
}

// stepCache is the cache of one step invocation.
type stepCache struct {
	env        cache.Env
	log        io.Writer
	resultsDir string
	out        string // the --out location, "" when the step has none
	task       string // the pipeline task

	// program is the step program's identity (nil: this binary's, cache.ProgramIdentity).
	program func() string

	c   *cache.Cache
	key cache.Key
}

// check computes the key and looks it up; on a hit it restores everything and returns true.
func (s *stepCache) check(ctx context.Context, step string) (bool, error) {
	start := time.Now()
	identity := s.program
	if identity == nil {
		identity = cache.ProgramIdentity
	}
	program := identity()
	if program == "" {
		fmt.Fprintln(s.log, "cache off: the step program's identity is unknown")
		return false, writeCacheResults(s.resultsDir, cache.Off, "")
	}
	key, _, err := cache.NewDigester().Key(ctx, cache.Inputs{
		Task: s.env.Task, Params: s.env.Params, Workspaces: s.env.Workspaces,
		Programs: map[string]string{step: program},
	})
	if err != nil {
		fmt.Fprintf(s.log, "cache off: %v\n", err)
		return false, writeCacheResults(s.resultsDir, cache.Off, "")
	}
	s.key = key
	c, err := cache.Open(ctx, s.env.Store, s.env.MaxAge, cacheClock)
	if err != nil {
		fmt.Fprintf(s.log, "cache off: %v\n", err)
		return false, writeCacheResults(s.resultsDir, cache.Off, "")
	}
	s.c = c
	entry, files, err := c.Lookup(ctx, key.Sum)
	if err == nil {
		err = cache.Restore(ctx, files, s.env.Workspaces)
	}
	if err == nil {
		err = s.restoreResults(entry)
	}
	if err == nil {
		fmt.Fprintf(s.log, "cache hit %s from %s (restored %d files in %s)\n", key.Sum, entry.From(), len(files), time.Since(start).Round(time.Millisecond))
		s.record(ctx, cache.Record{Decision: cache.Hit, CachedFrom: entry.From()})
		return true, nil
	}
	reason, isMiss := cache.IsMiss(err)
	if !isMiss {
		reason = "the cache could not be read: " + err.Error()
	}
	fmt.Fprintf(s.log, "cache miss %s: %s (checked in %s)\n", key.Sum, reason, time.Since(start).Round(time.Millisecond))
	s.record(ctx, cache.Record{Decision: cache.Miss, Reason: reason})
	return false, writeCacheResults(s.resultsDir, cache.Miss, key.Sum)
}

// restoreResults writes an entry's results, then cache=hit and the key.
func (s *stepCache) restoreResults(e *cache.Entry) error {
	var rs []result
	for name, v := range e.Results {
		rs = append(rs, result{name, cache.Detokenize(v, s.env.Workspaces)})
	}
	rs = append(rs, result{cache.ResultCache, cache.Hit}, result{cache.ResultKey, s.key.Sum})
	return writeResults(s.resultsDir, rs...)
}

// store keeps the step's outputs and results after it succeeded, then writes cache=miss and the key.
func (s *stepCache) store(ctx context.Context) error {
	if s.c == nil {
		return nil // the cache was off: check wrote cache=off
	}
	if err := s.save(ctx); err != nil {
		fmt.Fprintf(s.log, "cache store failed (the step's outputs are fine): %v\n", err)
	}
	return writeCacheResults(s.resultsDir, cache.Miss, s.key.Sum)
}

func (s *stepCache) save(ctx context.Context) error {
	results, err := readResults(s.resultsDir)
	if err != nil {
		return err
	}
	for name, v := range results {
		results[name] = cache.Tokenize(v, s.env.Workspaces)
	}
	var files []cache.File
	if s.out != "" {
		if files, err = cache.Collect(ctx, s.out, s.env.Workspaces); err != nil {
			return err
		}
	}
	stored, err := s.c.Store(ctx, cache.Entry{
		Key: s.key.Sum, Pipeline: s.env.Pipeline, Run: s.env.Run, Task: s.task,
		Components: s.key.Components, Results: results,
	}, files)
	if err != nil {
		return err
	}
	if stored {
		fmt.Fprintf(s.log, "cache stored %s (%d files)\n", s.key.Sum, len(files))
	} else {
		fmt.Fprintf(s.log, "cache: an identical task stored %s first; its entry stays\n", s.key.Sum)
	}
	return nil
}

// record keeps the decision for explain; failing to record does not fail the step.
func (s *stepCache) record(ctx context.Context, r cache.Record) {
	r.Pipeline, r.Task, r.Run, r.Key, r.Components = s.env.Pipeline, s.task, s.env.Run, s.key.Sum, s.key.Components
	if err := s.c.Record(ctx, r); err != nil {
		fmt.Fprintf(s.log, "cache: %v\n", err)
	}
}

// readResults reads the results a step wrote, without the cache's own.
func readResults(dir string) (map[string]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("error reading the results in %s: %w", dir, err)
	}
	out := map[string]string{}
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || strings.HasPrefix(name, ".") || name == cache.ResultCache || name == cache.ResultKey {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		out[name] = string(data)
	}
	return out, nil
}

func writeCacheResults(dir, decision, key string) error {
	return writeResults(dir, result{cache.ResultCache, decision}, result{cache.ResultKey, key})
}

func flagValue(cmd *cobra.Command, name string) string {
	if f := cmd.Flags().Lookup(name); f != nil {
		return f.Value.String()
	}
	return ""
}

// newCacheCommand is `mlpipe-step cache check|store`: the cache around a user's own step, as the first and the
// last step of its Task (tasks/README.md). check computes the key from the same environment the built-in steps
// get, with --program (the user's image, by digest) as the program's identity; on a hit it restores the outputs
// and results and writes cache=hit, on a miss cache=miss and the key. The user's step skips its work when
// $(results.cache.path) holds hit. store, after it, keeps --out and the results when check wrote miss.
func newCacheCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cache",
		Short: "Check the cache before a user's step and store its outputs after it (see tasks/README.md)",
	}
	var out, program, resultsDir string
	check := &cobra.Command{
		Use:   "check",
		Short: "Look the task up in the cache; on a hit restore its outputs and results and write cache=hit",
	}
	check.Flags().StringVar(&out, "out", "", "the user step's output location (a directory or an s3:// prefix)")
	check.Flags().StringVar(&program, "program", "", "identity of the user's program: its image by digest (image@sha256:...)")
	addResultsDirFlag(check, &resultsDir)
	check.RunE = runE([]string{"program"}, func(c *cobra.Command) error {
		sc, err := userStepCache(c, out, resultsDir)
		if sc == nil || err != nil {
			return err
		}
		sc.program = func() string { return "image " + strings.TrimSpace(program) }
		_, err = sc.check(cmdContext(c), "user")
		return err
	})
	store := &cobra.Command{
		Use:   "store",
		Short: "Store the outputs and results of a user's step that cache check found missing",
	}
	store.Flags().StringVar(&out, "out", "", "the user step's output location (a directory or an s3:// prefix)")
	addResultsDirFlag(store, &resultsDir)
	store.RunE = runE(nil, func(c *cobra.Command) error {
		sc, err := userStepCache(c, out, resultsDir)
		if sc == nil || err != nil {
			return err
		}
		decision, _ := os.ReadFile(filepath.Join(resultsDir, cache.ResultCache))
		key, _ := os.ReadFile(filepath.Join(resultsDir, cache.ResultKey))
		if string(decision) != cache.Miss || len(key) == 0 {
			fmt.Fprintf(sc.log, "cache store: nothing to store (cache=%s)\n", decision)
			return nil
		}
		ctx := cmdContext(c)
		if sc.c, err = cache.Open(ctx, sc.env.Store, sc.env.MaxAge, cacheClock); err != nil {
			fmt.Fprintf(sc.log, "cache store failed (the step's outputs are fine): %v\n", err)
			return nil
		}
		sc.key = cache.Key{Sum: string(key)}
		return sc.store(ctx)
	})
	cmd.AddCommand(check, store)
	return cmd
}

// userStepCache reads the cache environment for cache check|store; nil (with cache=off written) when the cache
// is off.
func userStepCache(c *cobra.Command, out, resultsDir string) (*stepCache, error) {
	env, err := cache.EnvFrom(nil)
	if err != nil {
		env.Disabled = err.Error()
	}
	if env.Disabled != "" {
		fmt.Fprintf(c.ErrOrStderr(), "cache off: %s\n", env.Disabled)
		return nil, writeCacheResults(resultsDir, cache.Off, "")
	}
	return &stepCache{env: env, log: c.ErrOrStderr(), resultsDir: resultsDir, out: out, task: env.PipelineTask}, nil
}

func cmdContext(c *cobra.Command) context.Context {
	if ctx := c.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}
