//go:build unix

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
	"runtime"
	"syscall"
	"unsafe"
)

// allocSlots returns n zeroed slots mapped outside the Go heap: the duplicate table is the preprocess step's
// one large allocation, and on the heap the collector's headroom (GOGC) would double what it costs in RSS.
// mapped says whether they were mapped (else they are on the heap, where mapping failed).
func allocSlots(n int) (slots []uint64, mapped bool) {
	b, err := syscall.Mmap(-1, 0, 8*n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return make([]uint64, n), false
	}
	if runtime.GOOS == "linux" && len(b) >= hugePage {
		// Probes land anywhere in the table: on 2 MiB pages (where the kernel's transparent huge pages are
		// "madvise", as is common) they cost far fewer TLB misses and page faults. Advice only: no error.
		_ = syscall.Madvise(b, madvHugepage)
	}
	return unsafe.Slice((*uint64)(unsafe.Pointer(&b[0])), n), true
}

const (
	hugePage     = 2 << 20
	madvHugepage = 14 // MADV_HUGEPAGE on Linux
)

// freeSlots releases slots from allocSlots.
func freeSlots(s []uint64, mapped bool) {
	if len(s) == 0 || !mapped {
		return
	}
	_ = syscall.Munmap(unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), 8*len(s)))
}
