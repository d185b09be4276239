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

# Builds the real parts the integration tests run against (etcd, kube-apiserver, kubectl, Tekton Pipelines'
# controller and its image programs, the real node's kubelet, kube-scheduler and kube-controller-manager, tkn,
# MinIO, KServe's controller manager) from the Go module proxy into a cache keyed by version:
#
#   ${MLPIPE_TOOLS_CACHE:-~/.cache/mlpipe/tools}/<tool>/<version>/<tool>
#
# Usage: hack/build-tools.sh [tool...]      (default: all of MLPIPE_TOOLS in hack/lib/tools.sh)
#
# A binary already in the cache is not rebuilt. Each tool is built from its own module under hack/tools/<tool>
# (the Kubernetes binaries from kube-apiserver's, Tekton's from tekton-controller's), MinIO with
# `go install module@version` and KServe inside a copy of its own module, so none of them touches the project's
# dependency graph. Needs only Go, git and network access to the Go module proxy. Called by the Makefile;
# `eval "$(hack/tools-env.sh)"` then points the tests at the binaries.

set -o errexit -o nounset -o pipefail

# shellcheck source=SCRIPTDIR/lib/tools.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/tools.sh"

die() {
	echo "build-tools: ERROR: $*" >&2
	exit 1
}

elapsed() {
	local s="$1"
	printf '%dm%02ds' $((s / 60)) $((s % 60))
}

# check_tekton_version fails when the Tekton controller we would build differs from the Tekton API the project
# compiles against: the tests would then prove nothing about the version users get.
check_tekton_version() {
	local ours tool
	ours="$(gomod_version "${MLPIPE_ROOT}/go.mod" github.com/tektoncd/pipeline)"
	tool="$(tool_version tekton-controller)"
	if [[ -n "${ours}" && "${ours}" != "${tool}" ]]; then
		die "go.mod requires github.com/tektoncd/pipeline ${ours} but hack/tools/tekton-controller/go.mod pins ${tool}; update the tools module to ${ours}"
	fi
}

# go_build_tool builds one tool into $2 (a temporary path next to its final place).
go_build_tool() {
	local tool="$1" out="$2" version pkg
	version="$(tool_version "${tool}")"
	pkg="$(tool_package "${tool}")"
	local -a env=(GOWORK=off CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false")
	local ldflags="-s -w"
	case "${tool}" in
	kube-apiserver | kubectl | kube-controller-manager | kube-scheduler | kubelet)
		local major minor
		major="$(echo "${version#v}" | cut -d. -f1)"
		minor="$(echo "${version#v}" | cut -d. -f2)"
		# Without these the server reports v0.0.0, which clients (and Tekton's minimum-version check) reject.
		local p
		for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
			ldflags+=" -X ${p}.gitVersion=${version} -X ${p}.gitMajor=${major} -X ${p}.gitMinor=${minor}"
			ldflags+=" -X ${p}.gitTreeState=clean -X ${p}.buildDate=1970-01-01T00:00:00Z"
		done
		;;
	tkn)
		ldflags+=" -X github.com/tektoncd/cli/pkg/cmd/version.clientVersion=${version}"
		# Some of tkn's dependencies are missing from the checksum database; its go.sum is committed, and this is
		# a test-only tool.
		env+=(GOSUMDB=off)
		;;
	esac
	if [[ "${tool}" == kserve-manager ]]; then
		# Built inside a copy of KServe's module, so its own go.mod and go.sum (and replace directives) decide
		# every dependency version.
		local src moddir
		moddir="$(GOWORK=off GOFLAGS=-mod=mod go mod download -json "${MLPIPE_KSERVE_MODULE}@${version}" |
			sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
		[[ -d "${moddir}" ]] || return 1
		src="$(dirname "${out}")/src.$$"
		rm -rf "${src}" && cp -r "${moddir}" "${src}" && chmod -R u+w "${src}"
		if ! (cd "${src}" && env GOWORK=off CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false" \
			nice -n 10 go build -trimpath -ldflags "${ldflags}" -o "${out}" "${pkg}"); then
			rm -rf "${src}"
			return 1
		fi
		rm -rf "${src}"
		return 0
	fi
	if [[ "${tool}" == minio ]]; then
		local gobin
		gobin="$(dirname "${out}")/gobin.$$"
		mkdir -p "${gobin}"
		env=(GOWORK=off CGO_ENABLED=0 GOFLAGS=-buildvcs=false GOBIN="${gobin}")
		if ! env "${env[@]}" nice -n 10 go install -trimpath -ldflags "${ldflags}" "${MLPIPE_MINIO_MODULE}@${version}"; then
			rm -rf "${gobin}"
			return 1
		fi
		mv "${gobin}/minio" "${out}"
		rm -rf "${gobin}"
		return 0
	fi
	(cd "$(tool_dir "${tool}")" &&
		env "${env[@]}" nice -n 10 go build -trimpath -ldflags "${ldflags}" -o "${out}" "${pkg}")
}

build_tool() {
	local tool="$1" version path tmp start took
	version="$(tool_version "${tool}")" || die "cannot read the version of ${tool}"
	path="$(tool_path "${tool}")"
	if [[ -x "${path}" ]]; then
		echo "build-tools: ${tool} ${version}: cached (${path})"
		return 0
	fi
	echo "build-tools: ${tool} ${version}: building (first build takes minutes) ..."
	mkdir -p "$(dirname "${path}")"
	tmp="${path}.tmp.$$"
	start=${SECONDS}
	if ! go_build_tool "${tool}" "${tmp}"; then
		rm -f "${tmp}"
		die "building ${tool} ${version} failed (see the go output above)"
	fi
	mv -f "${tmp}" "${path}"
	took=$((SECONDS - start))
	echo "build-tools: ${tool} ${version}: built in $(elapsed "${took}") ($(du -m "${path}" | cut -f1) MB) -> ${path}"
}

# link_envtest_assets puts etcd, kube-apiserver and kubectl side by side for envtest (KUBEBUILDER_ASSETS).
link_envtest_assets() {
	local dir tool path
	dir="$(envtest_assets_dir)"
	for tool in etcd kube-apiserver kubectl; do
		path="$(tool_path "${tool}")"
		if [[ -x "${path}" ]]; then
			mkdir -p "${dir}"
			ln -sfn "${path}" "${dir}/${tool}"
		fi
	done
}

main() {
	command -v go >/dev/null || die "go is not on PATH"
	local -a tools=("$@")
	if [[ ${#tools[@]} -eq 0 ]]; then
		tools=("${MLPIPE_TOOLS[@]}")
	fi
	local tool
	for tool in "${tools[@]}"; do
		tool_module "${tool}" >/dev/null || die "unknown tool ${tool}"
	done
	check_tekton_version
	local start=${SECONDS}
	for tool in "${tools[@]}"; do
		build_tool "${tool}"
		link_envtest_assets
	done
	echo "build-tools: done in $(elapsed $((SECONDS - start))) (cache: $(tools_cache))"
}

main "$@"
