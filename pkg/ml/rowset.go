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

// rowSet is a set of 64-bit row hashes: open addressing with linear probing in a power-of-two table kept at most
// 3/4 full, 8 bytes a slot, so 10.7–21.3 MB per million distinct rows (16 MB at the average load). Zero marks an
// empty slot; a hash of 0 is stored as 1.
type rowSet struct {
	slots  []uint64
	mapped bool // slots are mapped outside the heap (allocSlots)
	n      int
	sink   uint64 // what touch read, kept so that its loads are not optimised away
}

func newRowSet() *rowSet {
	s := &rowSet{}
	s.slots, s.mapped = allocSlots(1 << 16)
	return s
}

// free releases the table; the set is empty afterwards.
func (s *rowSet) free() {
	freeSlots(s.slots, s.mapped)
	s.slots, s.n = nil, 0
}

// add inserts h and reports whether it was new.
func (s *rowSet) add(h uint64) bool {
	if h == 0 {
		h = 1
	}
	if 4*(s.n+1) > 3*len(s.slots) {
		s.grow()
	}
	mask := uint64(len(s.slots) - 1)
	for i := mix(h) & mask; ; i = (i + 1) & mask {
		switch s.slots[i] {
		case 0:
			s.slots[i] = h
			s.n++
			return true
		case h:
			return false
		}
	}
}

// touch reads the first slot each of the hashes probes, so that the adds that follow find them in the cache:
// these loads are independent and overlap, where one add waits for the last.
func (s *rowSet) touch(hashes []uint64) {
	mask := uint64(len(s.slots) - 1)
	var x uint64
	for _, h := range hashes {
		x += s.slots[mix(max(h, 1))&mask]
	}
	s.sink += x
}

func (s *rowSet) grow() {
	old, mapped := s.slots, s.mapped
	defer freeSlots(old, mapped)
	s.slots, s.mapped = allocSlots(2 * len(old))
	mask := uint64(len(s.slots) - 1)
	for _, h := range old {
		if h == 0 {
			continue
		}
		i := mix(h) & mask
		for s.slots[i] != 0 {
			i = (i + 1) & mask
		}
		s.slots[i] = h
	}
}

// bytes is the table's size.
func (s *rowSet) bytes() int { return 8 * len(s.slots) }

// mix spreads the hash's bits (the finaliser of SplitMix64), so that the low bits that pick a slot depend on all.
func mix(h uint64) uint64 {
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	return h ^ h>>31
}
