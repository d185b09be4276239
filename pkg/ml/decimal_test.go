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
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

// TestParseDecimal: every text the fast path takes parses to strconv.ParseFloat's value, bit for bit; the rest
// it leaves to ParseNumber.
func TestParseDecimal(t *testing.T) {
	texts := []string{"0", "-0", "1", "+7", "0.1", "-0.30000", "123456789012345", "0.000000000000000000001", ".5", "5.", "00012.50"}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 100000; i++ {
		texts = append(texts, strconv.FormatFloat(rng.NormFloat64()*1000, 'f', rng.IntN(9), 64))
	}
	for _, s := range texts {
		d, ok := parseDecimal(s)
		got := d.value()
		want, err := strconv.ParseFloat(s, 64)
		if !ok || err != nil || got != want {
			t.Fatalf("parseDecimal(%q) = %v, %v; ParseFloat %v, %v", s, got, ok, want, err)
		}
	}
	for _, s := range []string{"", "-", ".", "1e5", "0x10", "1.2.3", "1234567890123456", "inf", "NaN", "1,5", " 1"} {
		if _, ok := parseDecimal(s); ok {
			t.Errorf("parseDecimal(%q) took it", s)
		}
	}
}

// TestParseNumberFastReject: the byte filter in front of strconv.ParseFloat changes no answer: ParseNumber
// agrees with ParseFloat (finite values only) on numbers in every form ParseFloat takes and on words.
func TestParseNumberFastReject(t *testing.T) {
	texts := []string{"1e5", "-1E-3", "0x1p-2", "0X1.8P1", "1_000", "0x_1p0", "+.5e1", "inf", "+Inf", "infinity",
		"NaN", "nan", "blue", "bad", "dead", "cafe", "e", "x", "p", "_", "1.2.3", "1,5", " 1", "1 ", "", "-", "1e400",
		"0xffp10", "ab", "12abc", "1e", "Ø"}
	for _, s := range texts {
		got, ok := ParseNumber(s)
		want, err := strconv.ParseFloat(s, 64)
		wantOK := err == nil && !math.IsInf(want, 0) && !math.IsNaN(want)
		if ok != wantOK || ok && got != want {
			t.Errorf("ParseNumber(%q) = %v, %v; ParseFloat %v, %v", s, got, ok, want, err)
		}
	}
}

// TestParseDecimalShortMatchesLong: on random texts of digits, points, signs and letters, the short-text loop
// of parseDecimal answers as the general one, parseLongDecimal, does.
func TestParseDecimalShortMatchesLong(t *testing.T) {
	const alphabet = "0123456789000.....-+e "
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 200000; i++ {
		s := randomText(rng, alphabet, rng.IntN(18))
		start, neg := 0, false
		if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
			neg, start = s[0] == '-', 1
		}
		got, gotOK := parseDecimal(s)
		want, wantOK := parseLongDecimal(s, start, neg)
		if gotOK != wantOK || gotOK && got != want {
			t.Fatalf("parseDecimal(%q) = %+v, %v; parseLongDecimal %+v, %v", s, got, gotOK, want, wantOK)
		}
	}
}
