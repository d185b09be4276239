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

// Command gen-catalog writes the reusable Tasks into tasks/<name>/<version>/ (make generate)
// or, with -verify, fails when the committed ones are stale (make verify-generated).
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mlpipe/mlpipe/pkg/generate"
)

func main() {
	dir := flag.String("o", "tasks", "catalog directory")
	verify := flag.Bool("verify", false, "compare instead of writing; exit 1 when stale")
	flag.Parse()
	files, err := generate.Catalog(context.Background(), generate.DefaultStepImage)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if !*verify {
		if err := generate.WriteDir(*dir, files); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Printf("wrote %d files to %s\n", len(files), *dir)
		return
	}
	stale := 0
	for _, f := range files {
		got, err := os.ReadFile(filepath.Join(*dir, f.Name))
		if err != nil || !bytes.Equal(got, f.Data) {
			fmt.Fprintf(os.Stderr, "stale: %s (run make generate)\n", filepath.Join(*dir, f.Name))
			stale++
		}
	}
	if stale > 0 {
		os.Exit(1)
	}
	fmt.Printf("%d catalog files up to date\n", len(files))
}
