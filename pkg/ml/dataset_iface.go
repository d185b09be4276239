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

import "gonum.org/v1/gonum/mat"

// Batch is a block of encoded rows: X is rows×features (row-major), Y the class index of each row.
type Batch struct {
	X *mat.Dense
	Y []int
}

// Dataset is an encoded split read in blocks, any number of times, in any order.
type Dataset interface {
	Len() int // rows
	Dim() int // features
	Classes() int
	NumBlocks() int
	// Block returns block i in file order; the Batch is valid until the next Block call.
	Block(i int) (Batch, error)
}
