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

package ml

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestIsMissing: IsMissing says yes exactly to the tokens, in any case, on the tokens themselves and on random
// texts near them.
func TestIsMissing(t *testing.T) {
	tokens := []string{"", "na", "n/a", "nan", "null", "?"}
	want := func(v string) bool { return slices.Contains(tokens, strings.ToLower(v)) }
	texts := []string{"NA", "Na", "N/A", "NaN", "NAN", "Null", "NULL", "?", "", "n", "N", "none", "nil", "??", " NA", "0"}
	const alphabet = "nNaAlLuU/?x0 "
	rng := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 50000; i++ {
		texts = append(texts, randomText(rng, alphabet, rng.IntN(6)))
	}
	for _, v := range texts {
		if got := IsMissing(v); got != want(v) {
			t.Fatalf("IsMissing(%q) = %v", v, got)
		}
	}
}

// randomText is n bytes drawn from alphabet's bytes.
func randomText(rng *rand.Rand, alphabet string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[rng.IntN(len(alphabet))]
	}
	return string(b)
}
