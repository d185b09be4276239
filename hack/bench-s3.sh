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

# Runs the S3 trigger benchmarks of test/integration (BenchmarkS3Paths: direct receiver vs Tekton Triggers'
# EventListener sink with and without mlpipe's interceptor, on the real API server at the same client QPS;
# BenchmarkS3ReceiverKill: the receiver SIGKILLed mid-way) and prints their figures as markdown tables.
#
# Usage: hack/bench-s3.sh [extra go test flags]
# Knobs (environment): MLPIPE_BENCH_S3_EVENTS (distinct objects per path, default 1000),
#   MLPIPE_BENCH_S3_DUPLICATES (deliveries of one notification per path, default 1000),
#   MLPIPE_BENCH_S3_QPS (client QPS of the sink and the receiver, default 50; burst 2x),
#   MLPIPE_BENCH_S3_CONCURRENCY (concurrent senders, default 32), MLPIPE_BENCH_S3_KILL_EVENTS (default 400).
# Needs the tools of hack/build-tools.sh and hack/build-triggers.sh. The raw `go test` output is kept in
# ${MLPIPE_BENCH_S3_OUT:-<tmp>/bench-s3.txt}.

set -o errexit -o nounset -o pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${ROOT}"
eval "$(hack/tools-env.sh)"
eval "$(hack/build-triggers.sh --env)"

out="${MLPIPE_BENCH_S3_OUT:-$(mktemp -d)/bench-s3.txt}"
echo "bench-s3: go test ./test/integration -run '^\$' -bench 'S3' -benchtime 1x (output in ${out})" >&2
if ! nice go test ./test/integration -run '^$' -bench 'S3' -benchtime 1x -timeout 20m "$@" >"${out}" 2>&1; then
	tail -n 60 "${out}" >&2
	echo "bench-s3: FAILED" >&2
	exit 1
fi

# metric <benchmark name> <unit>: the value of one metric of one benchmark line ("-<GOMAXPROCS>" suffix ignored).
metric() {
	awk -v name="$1" -v unit="$2" '
		$1 ~ /^Benchmark/ {
			n = $1; sub(/-[0-9]+$/, "", n)
			if (n != name) next
			for (i = 3; i < NF; i += 2) if ($(i + 1) == unit) { print $i + 0; exit }
		}' "${out}"
}

qps="$(metric BenchmarkS3Paths/ratios client-qps)"
echo "### S3 notifications → PipelineRuns on the real API server (client QPS ${qps:-?}, burst 2x, one run)"
echo
echo "| path | events/s (distinct) | p99 send→run (ms) | duplicate deliveries/s | runs for distinct objects | runs for duplicates |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
for p in receiver sink sink+interceptor; do
	b="BenchmarkS3Paths/${p}"
	printf '| %s | %s | %s | %s | %s | %s |\n' "${p}" "$(metric "${b}" events/s)" "$(metric "${b}" p99-ms)" \
		"$(metric "${b}" dup-events/s)" "$(metric "${b}" runs)" "$(metric "${b}" dup-runs)"
done
echo
echo "| ratio | distinct | duplicates |"
echo "| --- | ---: | ---: |"
r="BenchmarkS3Paths/ratios"
printf '| receiver / sink | %s | %s |\n' "$(metric "${r}" receiver/sink)" "$(metric "${r}" dup-receiver/sink)"
printf '| sink+interceptor / sink | %s | %s |\n' "$(metric "${r}" sink+interceptor/sink)" "$(metric "${r}" dup-sink+interceptor/sink)"
echo
k=BenchmarkS3ReceiverKill
echo "### Direct receiver SIGKILLed mid-way"
echo
echo "| objects | acknowledged (2xx) | acknowledged but no run | created but not acknowledged | redelivered | runs in the end |"
echo "| ---: | ---: | ---: | ---: | ---: | ---: |"
printf '| %s | %s | %s | %s | %s | %s |\n' "$(metric ${k} objects)" "$(metric ${k} acked)" "$(metric ${k} acked-lost)" \
	"$(metric ${k} created-unacked)" "$(metric ${k} redelivered)" "$(metric ${k} final-runs)"
