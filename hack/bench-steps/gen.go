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

package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
)

// The synthetic table: 14 numeric and 6 categorical features and a 3-class label drawn from a softmax over a
// fixed linear model, so that it is learnable (a linear model reaches about 0.8) but not separable. Rows are
// about 170 bytes; every row is distinct (the numbers have four decimals).
const (
	numericFeatures = 14
	labelColumn     = "class"
)

// categorical are the categorical features' vocabularies.
var categorical = [][]string{
	{"red", "green", "blue"},
	{"small", "medium", "large", "xlarge"},
	{"north", "south", "east", "west", "central"},
	{"basic", "standard", "premium"},
	{"mon", "tue", "wed", "thu", "fri", "sat", "sun"},
	{"yes", "no"},
}

var classes = []string{"alpha", "beta", "gamma"}

// model is the label's generating model: per class, a weight per numeric feature (of its z-score) and an effect
// per category, with the numeric columns' means and scales. It is drawn once from a fixed seed.
type model struct {
	mean, scale [numericFeatures]float64
	w           [3][numericFeatures]float64
	cat         [3][][]float64
}

func newModel() *model {
	rng := rand.New(rand.NewPCG(20, 0x6d6f64656c))
	m := &model{}
	for j := range numericFeatures {
		m.mean[j] = 50 + 200*rng.Float64()
		m.scale[j] = 5 + 45*rng.Float64()
	}
	for k := range classes {
		for j := range numericFeatures {
			if j%5 != 4 { // every fifth numeric column carries no signal
				m.w[k][j] = 1.1 * rng.NormFloat64()
			}
		}
		m.cat[k] = make([][]float64, len(categorical))
		for c, vocab := range categorical {
			m.cat[k][c] = make([]float64, len(vocab))
			for v := range vocab {
				m.cat[k][c][v] = 0.6 * rng.NormFloat64()
			}
		}
	}
	return m
}

// header returns the CSV header: f00..f13, c0..c5, class.
func header() []string {
	var h []string
	for j := range numericFeatures {
		h = append(h, fmt.Sprintf("f%02d", j))
	}
	for c := range categorical {
		h = append(h, fmt.Sprintf("c%d", c))
	}
	return append(h, labelColumn)
}

// generate writes a header and n rows to each of outs (the first limits[i] rows to outs[i]; a limit < 0 means
// all n), the same bytes for the same seed, streaming: memory does not depend on n.
func generate(n int, seed uint64, outs []io.Writer, limits []int) error {
	m := newModel()
	rng := rand.New(rand.NewPCG(seed, 0x62656e6368))
	ws := make([]*bufio.Writer, len(outs))
	var line []byte
	for i, h := range header() {
		if i > 0 {
			line = append(line, ',')
		}
		line = append(line, h...)
	}
	line = append(line, '\n')
	for i, o := range outs {
		ws[i] = bufio.NewWriterSize(o, 1<<20)
		if _, err := ws[i].Write(line); err != nil {
			return err
		}
	}
	var z [numericFeatures]float64
	var catIdx [6]int
	var logits [3]float64
	for r := range n {
		line = line[:0]
		for j := range numericFeatures {
			z[j] = rng.NormFloat64()
			line = strconv.AppendFloat(line, m.mean[j]+m.scale[j]*z[j], 'f', 4, 64)
			line = append(line, ',')
		}
		for c, vocab := range categorical {
			catIdx[c] = rng.IntN(len(vocab))
			line = append(line, vocab[catIdx[c]]...)
			line = append(line, ',')
		}
		maxLogit := math.Inf(-1)
		for k := range classes {
			s := 0.0
			for j := range numericFeatures {
				s += m.w[k][j] * z[j]
			}
			for c := range categorical {
				s += m.cat[k][c][catIdx[c]]
			}
			logits[k] = s
			maxLogit = max(maxLogit, s)
		}
		var sum float64
		for k := range classes {
			logits[k] = math.Exp(logits[k] - maxLogit)
			sum += logits[k]
		}
		u, label := rng.Float64()*sum, len(classes)-1
		for k := range classes {
			if u < logits[k] {
				label = k
				break
			}
			u -= logits[k]
		}
		line = append(line, classes[label]...)
		line = append(line, '\n')
		for i, w := range ws {
			if limits[i] < 0 || r < limits[i] {
				if _, err := w.Write(line); err != nil {
					return err
				}
			}
		}
	}
	for _, w := range ws {
		if err := w.Flush(); err != nil {
			return err
		}
	}
	return nil
}
