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
	"slices"
	"testing"
)

// TestVocabulariesLookup: a parse worker finds the codes of the copies the merge published, and leaves to the
// merge a value a copy lacks, a missing value, a number of a column whose vocabulary is full, and every value
// of a column with no copy yet.
func TestVocabulariesLookup(t *testing.T) {
	st := &state{labelIdx: 2, classes: &classes{codes: map[string]uint32{}}}
	for _, name := range []string{"colour", "size"} {
		st.cols = append(st.cols, &column{name: name, codes: map[string]uint32{}, numeric: true})
	}
	red := st.cols[0].add(nil, "red", parsed{kind: parsedText}, -1, 2)
	st.cols[0].add(red, "blue", parsed{kind: parsedText}, -1, 2)
	st.cols[1].add(nil, "1", parsed{dec: decimal{mant: 1}, kind: parsedDecimal}, -1, 1)
	st.cols[1].add(nil, "2", parsed{dec: decimal{mant: 2}, kind: parsedDecimal}, -1, 1) // fills it
	vs := make(vocabularies, 3)
	vs.publish(st)
	if vs[2].Load() == nil || vs[2].Load().size != 0 {
		t.Fatal("the label's copy is missing or not empty")
	}
	st.classes.add("yes", -1, 0)
	st.cols[0].add(nil, "green", parsed{kind: parsedText}, -1, 3) // after the copy
	c := &chunk{
		fields: []string{"blue", "1", "yes", "green", "", "no", "red", "3", "yes"},
		vals: []parsed{{kind: parsedText}, {dec: decimal{mant: 1}, kind: parsedDecimal}, {kind: parsedText},
			{kind: parsedText}, {kind: parsedMissing}, {kind: parsedText},
			{kind: parsedText}, {dec: decimal{mant: 3}, kind: parsedDecimal}, {kind: parsedText}},
	}
	vs.lookup(c, 3)
	if want := []int32{1, -1, -1, -1, -1, -1, 0, -1, -1}; !slices.Equal(c.codes, want) {
		t.Fatalf("codes %v, want %v", c.codes, want)
	}
	vs.publish(st)
	vs.lookup(c, 3)
	if want := []int32{1, -1, 0, 2, -1, -1, 0, -1, 0}; !slices.Equal(c.codes, want) {
		t.Fatalf("after publishing again: codes %v, want %v", c.codes, want)
	}
}
