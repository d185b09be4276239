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
	"fmt"

	"gonum.org/v1/gonum/mat"
)

// MemoryDataset is a Dataset held in memory: the rows of one matrix, read in blocks of a fixed number of rows
// (the last block may be shorter). Block returns views of the matrix, not copies.
type MemoryDataset struct {
	x         *mat.Dense
	y         []int
	classes   int
	blockRows int
}

// MemoryDataset implements Dataset.
var _ Dataset = (*MemoryDataset)(nil)

// NewMemoryDataset returns the rows of x (rows×features) with class indices y in [0, classes), read in blocks of
// blockRows rows. It fails when x and y disagree on the row count or a label is out of range.
func NewMemoryDataset(x *mat.Dense, y []int, classes, blockRows int) (*MemoryDataset, error) {
	if x == nil {
		return nil, fmt.Errorf("no feature matrix")
	}
	if n, _ := x.Dims(); n != len(y) {
		return nil, fmt.Errorf("have %d rows and %d labels", n, len(y))
	}
	if classes < 1 {
		return nil, fmt.Errorf("classes must be at least 1, got %d", classes)
	}
	if blockRows < 1 {
		return nil, fmt.Errorf("block size must be at least 1 row, got %d", blockRows)
	}
	for i, c := range y {
		if c < 0 || c >= classes {
			return nil, fmt.Errorf("row %d: class index %d is outside [0, %d)", i, c, classes)
		}
	}
	return &MemoryDataset{x: x, y: y, classes: classes, blockRows: blockRows}, nil
}

// Len implements Dataset.
func (m *MemoryDataset) Len() int { return len(m.y) }

// Dim implements Dataset.
func (m *MemoryDataset) Dim() int {
	_, d := m.x.Dims()
	return d
}

// Classes implements Dataset.
func (m *MemoryDataset) Classes() int { return m.classes }

// NumBlocks implements Dataset.
func (m *MemoryDataset) NumBlocks() int { return (len(m.y) + m.blockRows - 1) / m.blockRows }

// Block implements Dataset.
func (m *MemoryDataset) Block(i int) (Batch, error) {
	if i < 0 || i >= m.NumBlocks() {
		return Batch{}, fmt.Errorf("block %d is outside [0, %d)", i, m.NumBlocks())
	}
	lo, hi := i*m.blockRows, min((i+1)*m.blockRows, len(m.y))
	return Batch{X: m.x.Slice(lo, hi, 0, m.Dim()).(*mat.Dense), Y: m.y[lo:hi]}, nil
}
