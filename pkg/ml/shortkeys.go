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

// shortKeys maps texts of at most 8 bytes to codes by the texts' bytes packed into a word, with no string
// hashing or comparison: an open-addressing table, at most half full. Categorical values are mostly that short
// ("red", "north", "yes"), and finding their codes is the first pass's most frequent lookup.
type shortKeys struct {
	slots []shortSlot // a power of two
	shift uint        // 64 − log2(len(slots))
}

type shortSlot struct {
	word uint64
	code uint32 // code+1; 0 for an empty slot
	n    uint8  // the text's length
}

// newShortKeys holds the texts of at most 8 bytes among texts, text i with code i.
func newShortKeys(texts []string) *shortKeys {
	size, shift := 8, uint(61)
	for size < 2*len(texts) {
		size, shift = 2*size, shift-1
	}
	t := &shortKeys{slots: make([]shortSlot, size), shift: shift}
	for code, s := range texts {
		if len(s) > 8 {
			continue
		}
		w := packShort(s)
		i := t.slot(w, len(s))
		for t.slots[i].code != 0 {
			i = (i + 1) & uint64(len(t.slots)-1)
		}
		t.slots[i] = shortSlot{word: w, code: uint32(code + 1), n: uint8(len(s))}
	}
	return t
}

// find returns the code of s, which has at most 8 bytes.
func (t *shortKeys) find(s string) (uint32, bool) {
	w, n := packShort(s), uint8(len(s))
	for i := t.slot(w, len(s)); ; i = (i + 1) & uint64(len(t.slots)-1) {
		sl := &t.slots[i]
		if sl.code == 0 {
			return 0, false
		}
		if sl.word == w && sl.n == n {
			return sl.code - 1, true
		}
	}
}

// slot is where the probe for a text of n bytes packed into w starts (Fibonacci hashing).
func (t *shortKeys) slot(w uint64, n int) uint64 {
	return ((w ^ uint64(n)<<58) * 0x9e3779b97f4a7c15) >> t.shift
}

// packShort packs the bytes of s (at most 8) into a word, s[0] lowest: from at most two loads that together
// cover s, so that with the length the word tells every text apart.
func packShort(s string) uint64 {
	switch n := len(s); {
	case n == 8:
		return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
			uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
	case n >= 4:
		lo := uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24
		t := s[n-4:]
		hi := uint64(t[0]) | uint64(t[1])<<8 | uint64(t[2])<<16 | uint64(t[3])<<24
		return lo | hi<<(8*(n-4))
	case n > 0:
		return uint64(s[0]) | uint64(s[n/2])<<(8*(n/2)) | uint64(s[n-1])<<(8*(n-1))
	}
	return 0
}
