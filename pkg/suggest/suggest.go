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

// Package suggest holds the one "did you mean" rule, shared by the spec's validation (unknown fields, metrics,
// policies) and the steps (a label or excluded column that is not in the CSV).
package suggest

import (
	"fmt"
	"strings"
)

// Hint returns " (did you mean "x"?)" naming the candidate closest to name, or "" when none is close: within
// two edits or a third of the name's length (case is ignored, so "Digit" finds "digit"), or a candidate that
// the name abbreviates ("acc" finds "accuracy").
func Hint(name string, candidates []string) string {
	best, bestD := "", 1<<30
	for _, c := range candidates {
		d := Distance(strings.ToLower(name), strings.ToLower(c))
		if d < bestD {
			best, bestD = c, d
		}
	}
	if best == "" || bestD > 2 && bestD > len(name)/3 {
		for _, c := range candidates {
			if len(name) >= 3 && strings.HasPrefix(strings.ToLower(c), strings.ToLower(name)) {
				return fmt.Sprintf(" (did you mean %q?)", c)
			}
		}
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// Distance is the Levenshtein edit distance between a and b, counted in bytes.
func Distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
