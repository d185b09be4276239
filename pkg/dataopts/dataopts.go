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

// Package dataopts holds the rules of the data options that both mlpipe.yaml (pkg/spec, checked with the
// file's position) and the preprocess step (pkg/steps, which also sees run-time params) accept: the CSV
// delimiter and what to do with missing values.
package dataopts

import (
	"fmt"
	"strings"
)

// Delimiters are the accepted spellings of a field delimiter besides "" (detect it): "tab" stands for a tab.
var Delimiters = []string{",", ";", "tab", "|"}

// ParseDelimiter returns the field delimiter a --delimiter or spec.data.delimiter value names: 0 for "" (detect
// it from the file), else one of Delimiters (a literal tab is accepted for "tab").
func ParseDelimiter(v string) (rune, error) {
	switch v {
	case "":
		return 0, nil
	case ",", ";", "|":
		return rune(v[0]), nil
	case "tab", "\t":
		return '\t', nil
	}
	return 0, fmt.Errorf("unknown delimiter %q: use one of %s, or leave it empty to detect it", v, quoted(Delimiters))
}

// DelimiterName is how messages and flags spell a delimiter: "tab" for a tab, the character otherwise.
func DelimiterName(r rune) string {
	if r == '\t' {
		return "tab"
	}
	return string(r)
}

// Missing-value policies.
const (
	// MissingDrop drops every row that has a missing value.
	MissingDrop = "drop"
	// MissingImpute fills a missing feature value with the training split's median (numeric column) or most
	// frequent value (categorical column); a row whose label is missing is still dropped.
	MissingImpute = "impute"
)

// MissingPolicies are the accepted values of --missing and spec.data.missing.
var MissingPolicies = []string{MissingDrop, MissingImpute}

// CheckMissing checks a --missing or spec.data.missing value; "" means MissingDrop.
func CheckMissing(v string) error {
	switch v {
	case "", MissingDrop, MissingImpute:
		return nil
	}
	return fmt.Errorf("unknown missing-value policy %q: use one of %s", v, quoted(MissingPolicies))
}

func quoted(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(q, ", ")
}
