#!/usr/bin/env bash
# Copyright 2026 The mlpipe Authors.
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

# Measures the built-in steps at data scale (hack/bench-steps/main.go) and writes bench/steps.md (and stdout):
# a generated CSV (default 10,000,000 rows, ~1.7 GB, in a temporary directory that is removed), a bare
# encoding/csv read loop over it, preprocess/train/evaluate as processes on the file and on MinIO (wall time,
# peak RSS, rows/s), and the train step against scikit-learn (installed as Debian's python3-sklearn when missing).
#
# Usage: hack/bench-steps.sh [flags of hack/bench-steps]
# Knobs (environment): BENCH_ROWS (rows of the CSV), BENCH_REF_ROWS (rows of the scikit-learn comparison, default
#   1,000,000), BENCH_EPOCHS (train epochs of the data-scale runs, default 3), BENCH_REF_EPOCHS (default 20),
#   BENCH_TMPDIR (where the temporary directory goes). MinIO comes from MLPIPE_MINIO_BIN (hack/tools-env.sh).

set -o errexit -o nounset -o pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${ROOT}"
eval "$(hack/tools-env.sh)"
go build -o "${TMPDIR:-/tmp}/mlpipe-bench-steps.$$" ./hack/bench-steps
trap 'rm -f "${TMPDIR:-/tmp}/mlpipe-bench-steps.$$"' EXIT
nice "${TMPDIR:-/tmp}/mlpipe-bench-steps.$$" "$@"
