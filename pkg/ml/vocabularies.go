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

import "sync/atomic"

// vocabularies are copies of the first pass's vocabularies, one per kept column (the label's included), that
// the parse workers look the chunks' values up in, so that the merge, the one goroutine every row goes
// through, does not have to. The merge publishes a column's copy after its vocabulary grew or filled. Codes
// are never renumbered, so a code found in an older copy is right; a value a copy lacks is left to the merge.
type vocabularies []atomic.Pointer[vocabularyCopy]

type vocabularyCopy struct {
	short *shortKeys        // the texts of at most 8 bytes
	long  map[string]uint32 // the longer ones
	full  bool              // the column's vocabulary is full: its numbers are no longer looked up
	size  int               // the vocabulary's size when copied
}

// newVocabularyCopy copies a vocabulary: text i has code i.
func newVocabularyCopy(texts []string, full bool) *vocabularyCopy {
	vc := &vocabularyCopy{short: newShortKeys(texts), long: map[string]uint32{}, full: full, size: len(texts)}
	for code, t := range texts {
		if len(t) > 8 {
			vc.long[t] = uint32(code)
		}
	}
	return vc
}

func (vc *vocabularyCopy) find(v string) (uint32, bool) {
	if len(v) <= 8 {
		return vc.short.find(v)
	}
	code, ok := vc.long[v]
	return code, ok
}

// lookup sets c.codes[j] to the code of field j where its column's copy has it, else to -1.
func (vs vocabularies) lookup(c *chunk, nk int) {
	c.codes = grow(c.codes, len(c.fields))
	c.copies = grow(c.copies, nk)
	for k := range c.copies {
		c.copies[k] = vs[k].Load()
	}
	for row := 0; row < len(c.fields); row += nk {
		fields, vals, codes := c.fields[row:row+nk], c.vals[row:row+nk], c.codes[row:row+nk]
		for k, vc := range c.copies {
			codes[k] = -1
			if p := vals[k]; vc == nil || p.kind == parsedMissing || vc.full && p.isNumber() {
				continue
			}
			if code, ok := vc.find(fields[k]); ok {
				codes[k] = int32(code)
			}
		}
	}
}

// publish copies the vocabularies that changed since they were last copied: the feature columns' and, at
// labelIdx, the classes'.
func (vs vocabularies) publish(st *state) {
	f := 0
	for k := range vs {
		old := vs[k].Load()
		if k == st.labelIdx {
			cl := st.classes
			if old == nil || old.size != len(cl.names) {
				vs[k].Store(newVocabularyCopy(cl.names, false))
			}
			continue
		}
		c := st.cols[f]
		f++
		if old == nil || old.size != len(c.texts) || old.full != c.full {
			vs[k].Store(newVocabularyCopy(c.texts, c.full))
		}
	}
}
