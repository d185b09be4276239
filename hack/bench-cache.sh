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

# Runs TestRealNodeCache (test/e2e, the real node: the churn example on a generated 400,000-row dataset with
# the cluster cache in MinIO) and prints its figures as a markdown table: the wall time of the run with only
# epochs changed over the first run's, the preprocess step computed vs restored from the cache, and what the
# cache check costs a miss against the step's own time (target: under 5 %).
#
# Usage: hack/bench-cache.sh [extra go test flags]. Needs root and the tools of hack/build-tools.sh; takes
# several minutes. The raw `go test` output is kept in ${MLPIPE_BENCH_CACHE_LOG:-<tmp>/bench-cache.log}.

set -o errexit -o nounset -o pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${ROOT}"
eval "$(hack/tools-env.sh)"

tmp="$(mktemp -d)"
log="${MLPIPE_BENCH_CACHE_LOG:-${tmp}/bench-cache.log}"
figures="${tmp}/figures.txt"
echo "bench-cache: go test ./test/e2e -run '^TestRealNodeCache\$' (output in ${log})" >&2
if ! MLPIPE_BENCH_CACHE_OUT="${figures}" nice go test ./test/e2e -run '^TestRealNodeCache$' -v -count 1 -timeout 30m "$@" >"${log}" 2>&1; then
	tail -n 60 "${log}" >&2
	echo "bench-cache: FAILED" >&2
	exit 1
fi

# field <line prefix> <key>: the value of key=value on the figures line that starts with the prefix.
field() {
	awk -v p="$1" -v k="$2" 'index($0, p " ") == 1 { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) { print kv[2]; exit } } }' "${figures}"
}

# seconds <Go duration>: the duration in seconds (ms, s, m and combinations such as 1m5s).
seconds() {
	awk -v d="$1" 'BEGIN {
		t = 0
		while (match(d, /^[0-9.]+(ms|µs|s|m|h)/)) {
			tok = substr(d, 1, RLENGTH); d = substr(d, RLENGTH + 1)
			v = tok + 0; u = tok; sub(/^[0-9.]+/, "", u)
			t += (u == "ms" ? v / 1000 : u == "µs" ? v / 1e6 : u == "m" ? v * 60 : u == "h" ? v * 3600 : v)
		}
		printf "%.3f", t }'
}

pct() { awk -v a="$(seconds "$1")" -v b="$(seconds "$2")" 'BEGIN { printf "%.1f %%", (b > 0 ? 100 * a / b : 0) }'; }

miss_pp="$(field miss-check preprocess)"
miss_train="$(field miss-check train)"
echo "### Cluster cache on the real node (TestRealNodeCache, churn example, 400,000 rows, one run)"
echo
echo "| figure | value |"
echo "| --- | --- |"
echo "| wall time, run with only epochs changed / first run | $(field wall second) / $(field wall first) = $(field wall ratio) |"
echo "| preprocess step, computed (miss) vs restored (hit) | $(field preprocess-step computed) vs $(field preprocess-step restored) (restore itself $(field preprocess-step restore)) |"
echo "| preprocess step, cache off vs miss (check + store) | $(field preprocess-step off) vs $(field preprocess-step miss) |"
echo "| cache check of a miss / step time: preprocess | ${miss_pp} = $(pct "${miss_pp%%/*}" "${miss_pp#*/}") |"
echo "| cache check of a miss / step time: train | ${miss_train} = $(pct "${miss_train%%/*}" "${miss_train#*/}") |"
