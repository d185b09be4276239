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

// Package runnerenv names the variables `mlpipe run` sets for a step process beyond the step's declared env, so
// that the local runner (pkg/localrun) and the built-in steps (pkg/steps) agree on them without importing each
// other. MLPIPE_CLUSTER_ACCESS is pkg/clusteraccess's.
package runnerenv

// AlertPreviewFile is set for the built-in alert step when no webhook is configured on this machine (its
// Secret's MLPIPE_SECRET_* variable is unset): the step writes the message it would have sent to this file and
// succeeds with delivered=false instead of failing; `mlpipe run` prints the message. In a cluster it is never
// set, and a missing webhook fails the step.
const AlertPreviewFile = "MLPIPE_ALERT_PREVIEW_FILE"
