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

// Package gate holds the rule of the evaluation gate's direction, shared by the spec's validation and the
// evaluate step (which also sees operators passed at run time, e.g. tkn pipeline start -p operator=...).
package gate

import "fmt"

// LowerIsBetter reports whether smaller values of the metric are better (a loss).
func LowerIsBetter(metric string) bool { return metric == "log-loss" }

// CheckDirection refuses an operator that makes the gate pass worse models: > or >= on a loss, < or <= on a
// score. The error says what to use instead.
func CheckDirection(metric, operator string) error {
	lower := LowerIsBetter(metric)
	switch {
	case lower && (operator == ">" || operator == ">="):
		return fmt.Errorf("%q passes models whose %s is above the threshold, but a higher %s is worse: use \"<=\" (or \"<\")", operator, metric, metric)
	case !lower && (operator == "<" || operator == "<="):
		return fmt.Errorf("%q passes models whose %s is below the threshold, but a lower %s is worse: use \">=\" (or \">\")", operator, metric, metric)
	}
	return nil
}
