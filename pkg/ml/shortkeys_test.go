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
	"testing"
)

// TestShortKeys: on random vocabularies of short texts over a few bytes (NUL included, so that texts differing
// only in length or in a trailing zero byte meet), shortKeys finds exactly the codes a map has.
func TestShortKeys(t *testing.T) {
	const alphabet = "ab\x00é"
	rng := rand.New(rand.NewPCG(8, 9))
	text := func() string {
		return randomText(rng, alphabet, 1+rng.IntN(10))
	}
	for round := 0; round < 300; round++ {
		want := map[string]uint32{}
		var texts []string
		for n := rng.IntN(60); len(texts) < n; {
			if s := text(); !hasText(want, s) {
				want[s] = uint32(len(texts))
				texts = append(texts, s)
			}
		}
		keys := newShortKeys(texts)
		for i := 0; i < 2000; i++ {
			s := text()
			if len(s) > 8 {
				continue
			}
			code, ok := keys.find(s)
			wantCode, wantOK := want[s]
			if ok != wantOK || ok && code != wantCode {
				t.Fatalf("find(%q) = %d, %v; want %d, %v (texts %q)", s, code, ok, wantCode, wantOK, texts)
			}
		}
	}
}

func hasText(m map[string]uint32, s string) bool {
	_, ok := m[s]
	return ok
}
