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

// Command pause is the real test node's sandbox ("pause") image: it blocks until SIGTERM or SIGINT and then exits
// 0, which is all containerd asks of the container that holds a Pod's namespaces. test/cluster's BuildPauseBinary
// builds it statically and BuildImages packs it at /pause.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	// The line tells a caller that the handler is installed: a signal sent before it would kill the process.
	fmt.Fprintln(os.Stderr, "pause: waiting for SIGTERM or SIGINT")
	sig := <-sigs
	fmt.Fprintf(os.Stderr, "pause: shutting down, got signal: %v\n", sig)
}
