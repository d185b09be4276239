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

# Runs mlpipe's benchmarks and writes one markdown table to bench/results.md (and stdout).
#   hack/bench.sh            in-process benchmarks + `mlpipe generate` process time
#   BENCH_CLUSTER=1 ...      also the S3 paths, the schedule controller vs CronJob (real API server) and the
#                            cluster cache on the real node (hack/bench-cache.sh, root); slow
#   BENCH_STEPS=0 ...        without the built-in steps at data scale (hack/bench-steps.sh, bench/steps.md; about
#                            15 minutes at its default 10,000,000 rows, BENCH_ROWS scales it down)
# Called by `make bench` with the tool paths exported (hack/tools-env.sh).
set -o errexit -o nounset -o pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out=bench/results.md
mkdir -p bench
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# bench PKG PATTERN BENCHTIME: run go benchmarks, append their lines to $tmp/raw.
bench() {
	echo "== go test -bench '$2' $1 (benchtime $3)" >&2
	nice go test "$1" -run '^$' -bench "$2" -benchmem -benchtime "$3" -count 1 2>&1 | tee -a "$tmp/log" | grep -E '^Benchmark' >>"$tmp/raw" || true
}

bench ./pkg/generate 'Generate' 2s
bench ./pkg/cron 'Next' 1s
bench ./pkg/events 'Decode' 1s
bench ./pkg/receiver 'Receiver' 2x
bench ./pkg/steps 'Train|FitEpoch' 1x
bench ./pkg/steps 'Serve' 5000x
bench ./pkg/localrun 'RunnerOverhead|ColdVsCached' 5x

# Whole `mlpipe generate` process, median of 5 (the spec load, Tekton validation and writing, cold process).
go build -o "$tmp/mlpipe" ./cmd/mlpipe
times=()
for i in 1 2 3 4 5; do
	s=$(date +%s%N)
	"$tmp/mlpipe" generate -f examples/churn/mlpipe.yaml -o "$tmp/out" >/dev/null
	e=$(date +%s%N)
	times+=($(( (e - s) / 1000000 )))
done
median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 3p)
echo "BenchmarkGenerateProcess/churn 5 ${median} ms/process" >>"$tmp/raw"

if [[ "${BENCH_CLUSTER:-}" == "1" ]]; then
	bench ./test/integration 'S3' 1x
	if [[ -x hack/bench-schedule.sh ]]; then hack/bench-schedule.sh | tee "$tmp/schedule.md" >&2 || true; fi
	if [[ -x hack/bench-cache.sh ]]; then hack/bench-cache.sh | tee "$tmp/cache.md" >&2 || true; fi
fi

if [[ "${BENCH_STEPS:-1}" == "1" ]]; then hack/bench-steps.sh >&2; fi

{
	echo "# mlpipe benchmarks"
	echo
	echo "$(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, $(go version | cut -d' ' -f3). Ratios in one run beat absolute times on this noisy machine."
	echo
	echo "| benchmark | iterations | metrics |"
	echo "| --- | --- | --- |"
	awk '{ name=$1; sub(/-[0-9]+$/, "", name); m=""; for (i=3; i+1<=NF; i+=2) m = m (m==""?"":", ") $i " " $(i+1); printf "| %s | %s | %s |\n", name, $2, m }' "$tmp/raw"
	if [[ -s "$tmp/schedule.md" ]]; then echo; cat "$tmp/schedule.md"; fi
	if [[ -s "$tmp/cache.md" ]]; then echo; cat "$tmp/cache.md"; fi
	if [[ "${BENCH_STEPS:-1}" == "1" ]]; then echo; echo "The built-in steps at data scale: bench/steps.md."; fi
} >"$out"
cat "$out"
