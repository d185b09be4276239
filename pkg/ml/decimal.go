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

// decimalScales is the number of scales a decimal can have (0 to 22 digits after the point).
const decimalScales = 23

// pow10 are the powers of ten a float64 holds exactly.
var pow10 = [decimalScales]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
	1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// decimal is a number of parseDecimal's shape as its parts: value() = ±mant / 10^scale.
type decimal struct {
	mant  uint64 // below 10^15
	scale uint8  // at most 22
	neg   bool
}

func (d decimal) value() float64 {
	f := float64(d.mant) / pow10[d.scale]
	if d.neg {
		f = -f
	}
	return f
}

// parseDecimal parses the common shape of a CSV number, [+-]digits[.digits] with at most 15 significant
// digits, exactly as strconv.ParseFloat does: the digits make an integer below 2⁵³ and the scale a power of ten
// up to 10²², both exact in a float64, so their quotient d.value() is the correctly rounded value. ok is false
// for any other text, which ParseNumber then decides.
func parseDecimal(s string) (d decimal, ok bool) {
	start, neg := 0, false
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		neg, start = s[0] == '-', 1
	}
	if n := len(s) - start; n == 0 || n > 15 {
		return parseLongDecimal(s, start, neg)
	}
	// At most 15 characters hold at most 15 digits: no digit needs counting.
	var mant uint64
	dot := -1
	for i := start; i < len(s); i++ {
		if c := s[i] - '0'; c <= 9 {
			mant = mant*10 + uint64(c)
			continue
		}
		if s[i] != '.' || dot >= 0 {
			return decimal{}, false
		}
		dot = i
	}
	scale := 0
	if dot >= 0 {
		if len(s)-start == 1 {
			return decimal{}, false // "." alone
		}
		scale = len(s) - 1 - dot
	}
	return decimal{mant: mant, scale: uint8(scale), neg: neg}, true
}

// parseLongDecimal is parseDecimal for a text of more than 15 characters (or none) after its sign at s[:i],
// counting significant digits.
func parseLongDecimal(s string, i int, neg bool) (d decimal, ok bool) {
	var mant uint64
	digits, scale, dot := 0, 0, false
	start := i
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if mant == 0 && c == '0' {
				if dot {
					scale++
				}
				continue // leading zeros count for nothing
			}
			digits++
			if digits > 15 {
				return decimal{}, false
			}
			mant = mant*10 + uint64(c-'0')
			if dot {
				scale++
			}
		case c == '.' && !dot:
			dot = true
		default:
			return decimal{}, false
		}
	}
	if i == start || i == start+1 && dot || scale > 22 {
		return decimal{}, false
	}
	return decimal{mant: mant, scale: uint8(scale), neg: neg}, true
}
