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

# Builds Tekton Triggers' EventListener sink and core interceptors server (the real Triggers code the S3
# integration tests and benchmarks run) from the Go module proxy into the tools cache, keyed by version:
#
#   ${MLPIPE_TOOLS_CACHE:-~/.cache/mlpipe/tools}/triggers-eventlistenersink/<version>/eventlistenersink
#   ${MLPIPE_TOOLS_CACHE:-~/.cache/mlpipe/tools}/triggers-interceptors/<version>/interceptors
#
# Usage: hack/build-triggers.sh          build what is missing (a cached binary is not rebuilt)
#        hack/build-triggers.sh --env    build nothing; print `export MLPIPE_EL_SINK_BIN=...` lines for eval
#
# Both come from the tools module hack/tools/triggers, so they never touch the project's dependency graph. The
# version is the one that module pins; it must match the github.com/tektoncd/triggers the project compiles
# against, or the tests would prove nothing about the types we generate.

set -o errexit -o nounset -o pipefail

# shellcheck source=lib/tools.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/tools.sh"

TRIGGERS_MODULE="github.com/tektoncd/triggers"
TRIGGERS_DIR="${MLPIPE_ROOT}/hack/tools/triggers"

die() {
	echo "build-triggers: ERROR: $*" >&2
	exit 1
}

elapsed() {
	local s="$1"
	printf '%dm%02ds' $((s / 60)) $((s % 60))
}

triggers_version() {
	local v
	v="$(gomod_version "${TRIGGERS_DIR}/go.mod" "${TRIGGERS_MODULE}")"
	[[ -n "${v}" ]] || die "${TRIGGERS_DIR}/go.mod does not require ${TRIGGERS_MODULE}"
	echo "${v}"
}

# bin_path <binary> prints where a Triggers binary lives in the cache.
bin_path() {
	printf '%s/triggers-%s/%s/%s\n' "$(tools_cache)" "$1" "$(triggers_version)" "$1"
}

check_version() {
	local ours tool
	ours="$(gomod_version "${MLPIPE_ROOT}/go.mod" "${TRIGGERS_MODULE}")"
	tool="$(triggers_version)"
	if [[ -n "${ours}" && "${ours}" != "${tool}" ]]; then
		die "go.mod requires ${TRIGGERS_MODULE} ${ours} but hack/tools/triggers/go.mod pins ${tool}; update the tools module to ${ours}"
	fi
}

build_one() {
	local bin="$1" version path tmp start
	version="$(triggers_version)"
	path="$(bin_path "${bin}")"
	if [[ -x "${path}" ]]; then
		echo "build-triggers: ${bin} ${version}: cached (${path})"
		return 0
	fi
	echo "build-triggers: ${bin} ${version}: building (first build takes minutes) ..."
	mkdir -p "$(dirname "${path}")"
	tmp="${path}.tmp.$$"
	start=${SECONDS}
	if ! (cd "${TRIGGERS_DIR}" &&
		env GOWORK=off CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false" \
			nice -n 10 go build -trimpath -ldflags "-s -w" -o "${tmp}" "${TRIGGERS_MODULE}/cmd/${bin}"); then
		rm -f "${tmp}"
		die "building ${bin} ${version} failed (see the go output above)"
	fi
	mv -f "${tmp}" "${path}"
	echo "build-triggers: ${bin} ${version}: built in $(elapsed $((SECONDS - start))) ($(du -m "${path}" | cut -f1) MB) -> ${path}"
}

main() {
	if [[ "${1:-}" == "--env" ]]; then
		printf 'export %s=%q\n' MLPIPE_EL_SINK_BIN "$(bin_path eventlistenersink)"
		printf 'export %s=%q\n' MLPIPE_TRIGGERS_INTERCEPTORS_BIN "$(bin_path interceptors)"
		return 0
	fi
	[[ $# -eq 0 ]] || die "usage: hack/build-triggers.sh [--env]"
	command -v go >/dev/null || die "go is not on PATH"
	check_version
	local start=${SECONDS}
	build_one eventlistenersink
	build_one interceptors
	echo "build-triggers: done in $(elapsed $((SECONDS - start))) (cache: $(tools_cache))"
}

main "$@"
