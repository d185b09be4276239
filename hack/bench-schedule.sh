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

# Benchmarks the PipelineSchedule controller against the Kubernetes CronJob controller on this machine
# (test/bench/schedule): N schedules (default 1,000) on "* * * * *" firing in the same minute against a real
# kube-apiserver, at each client QPS/burst, plus the machine's own create rate. Prints a markdown table to stdout
# and writes it to bench/schedule.md (the raw results go to bench/schedule.jsonl, the go test log to
# bench/schedule.log).
#
# Usage: hack/bench-schedule.sh
#
#   MLPIPE_BENCH_SCHEDULE_N=1000                 schedules per configuration
#   MLPIPE_BENCH_SCHEDULE_LIMITS=20/30,100/200   client QPS/burst configurations (e.g. add 1000/2000)
#   MLPIPE_BENCH_SCHEDULE_RUN=<regexp>           which sides to run (default all: CreateRate|MLPipe|CronJob)
#
# Each configuration starts a fresh etcd + kube-apiserver and takes about three minutes. Builds the tools it needs
# (etcd, kube-apiserver, kubectl, kube-controller-manager) with hack/build-tools.sh first; everything runs under
# `nice`.

set -o errexit -o nounset -o pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${ROOT}"

OUT_DIR="${ROOT}/bench"
RESULTS="${OUT_DIR}/schedule.jsonl"
TABLE="${OUT_DIR}/schedule.md"
LOG="${OUT_DIR}/schedule.log"
RUN="${MLPIPE_BENCH_SCHEDULE_RUN:-CreateRate|MLPipe|CronJob}"

hack/build-tools.sh etcd kube-apiserver kubectl kube-controller-manager >&2
eval "$(hack/tools-env.sh)"

mkdir -p "${OUT_DIR}"
rm -f "${RESULTS}"
export MLPIPE_BENCH_SCHEDULE=1
export MLPIPE_BENCH_SCHEDULE_OUT="${RESULTS}"
export MLPIPE_BENCH_SCHEDULE_MD="${TABLE}"

echo "bench-schedule: running TestBenchSchedule(${RUN}) (log: ${LOG}) ..." >&2
status=0
nice -n 10 go test -count=1 -timeout 60m -v -run "^TestBenchSchedule(${RUN})\$" ./test/bench/schedule/ >"${LOG}" 2>&1 || status=$?
grep -E '^\s*(---|ok|FAIL|PASS)|result:' "${LOG}" | grep -v 'result:' >&2 || true
if [[ ! -s "${RESULTS}" ]]; then
	echo "bench-schedule: no results (see ${LOG})" >&2
	tail -n 40 "${LOG}" >&2
	exit 1
fi
nice -n 10 go test -count=1 -run '^TestBenchScheduleReport$' ./test/bench/schedule/ >/dev/null
cat "${TABLE}"
if [[ ${status} -ne 0 ]]; then
	echo "bench-schedule: the benchmark failed (exit ${status}); see ${LOG}" >&2
fi
exit "${status}"
