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

# Shared by hack/build-tools.sh and hack/tools-env.sh: which test tools exist, their versions (read from the
# pinned tool modules under hack/tools/, never from the project's go.mod) and where their binaries live in the
# cache: ${MLPIPE_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mlpipe/tools}/<tool>/<version>/<binary>: outside the
# work tree, so every clone on a machine (CI's fresh clone too) reuses what one build made.

MLPIPE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

# All tools, in build order (cheap first, so a broken network shows up quickly). The real test node
# (test/cluster/node) adds kubelet, kube-scheduler and kube-controller-manager (the same Kubernetes release as
# kube-apiserver) and the binaries of Tekton's own Pod images (entrypoint, nop, workingdirinit,
# sidecarlogresults: the Tekton release in go.mod), which it packs into images itself.
MLPIPE_TOOLS=(etcd tekton-controller tekton-entrypoint tekton-nop tekton-workingdirinit tekton-sidecarlogresults
	kube-apiserver kubectl kube-controller-manager kube-scheduler kubelet tkn minio kserve-manager)

# Tools built only on request (hack/build-tools.sh <tool>); none at the moment.
MLPIPE_EXTRA_TOOLS=()

# KServe's controller manager is built from KServe's own module with its own go.mod and go.sum (no tools module:
# its dependency set is KServe's, pinned by its release); this is its pin (test/cluster.KServeVersion too).
MLPIPE_KSERVE_MODULE="github.com/kserve/kserve"
MLPIPE_KSERVE_VERSION="v0.16.0"

# MinIO is installed with `go install module@version` (no tools module); this is its pin.
MLPIPE_MINIO_MODULE="github.com/minio/minio"
MLPIPE_MINIO_VERSION="v0.0.0-20260212201848-7aac2a2c5b7c"

# tools_cache prints the absolute cache root.
tools_cache() {
	local dir="${MLPIPE_TOOLS_CACHE:-}"
	if [[ -z "${dir}" ]]; then
		if [[ -n "${XDG_CACHE_HOME:-}" ]]; then
			dir="${XDG_CACHE_HOME}/mlpipe/tools"
		elif [[ -n "${HOME:-}" ]]; then
			dir="${HOME}/.cache/mlpipe/tools"
		else
			dir="${MLPIPE_ROOT}/.cache/tools"
		fi
	fi
	case "${dir}" in
	/*) ;;
	*) dir="$(pwd)/${dir}" ;;
	esac
	printf '%s\n' "${dir%/}"
}

# tool_module prints the module a tool is built from.
tool_module() {
	case "$1" in
	etcd) echo "go.etcd.io/etcd/server/v3" ;;
	kube-apiserver | kubectl | kube-controller-manager | kube-scheduler | kubelet) echo "k8s.io/kubernetes" ;;
	tekton-controller | tekton-entrypoint | tekton-nop | tekton-workingdirinit | tekton-sidecarlogresults)
		echo "github.com/tektoncd/pipeline"
		;;
	tkn) echo "github.com/tektoncd/cli" ;;
	minio) echo "${MLPIPE_MINIO_MODULE}" ;;
	kserve-manager) echo "${MLPIPE_KSERVE_MODULE}" ;;
	*)
		echo "unknown tool: $1 (known: ${MLPIPE_TOOLS[*]} ${MLPIPE_EXTRA_TOOLS[*]:-})" >&2
		return 1
		;;
	esac
}

# tool_package prints the main package a tool's binary is built from, inside its tools module.
tool_package() {
	case "$1" in
	etcd) echo "." ;;
	kube-apiserver) echo "k8s.io/kubernetes/cmd/kube-apiserver" ;;
	kubectl) echo "k8s.io/kubernetes/cmd/kubectl" ;;
	kube-controller-manager) echo "k8s.io/kubernetes/cmd/kube-controller-manager" ;;
	kube-scheduler) echo "k8s.io/kubernetes/cmd/kube-scheduler" ;;
	kubelet) echo "k8s.io/kubernetes/cmd/kubelet" ;;
	tekton-controller) echo "." ;;
	tekton-entrypoint | tekton-nop | tekton-workingdirinit | tekton-sidecarlogresults)
		echo "github.com/tektoncd/pipeline/cmd/${1#tekton-}"
		;;
	tkn) echo "github.com/tektoncd/cli/cmd/tkn" ;;
	minio) echo "${MLPIPE_MINIO_MODULE}" ;;
	kserve-manager) echo "./cmd/manager" ;;
	*)
		echo "unknown tool: $1 (known: ${MLPIPE_TOOLS[*]} ${MLPIPE_EXTRA_TOOLS[*]:-})" >&2
		return 1
		;;
	esac
}

# tool_dir prints the tools module a tool is built from (kubectl and kube-controller-manager share
# kube-apiserver's, so all come from the same Kubernetes release).
tool_dir() {
	case "$1" in
	kubectl | kube-controller-manager | kube-scheduler | kubelet) echo "${MLPIPE_ROOT}/hack/tools/kube-apiserver" ;;
	tekton-*) echo "${MLPIPE_ROOT}/hack/tools/tekton-controller" ;;
	*) echo "${MLPIPE_ROOT}/hack/tools/$1" ;;
	esac
}

# gomod_version prints the version a go.mod requires for a module (empty if it does not).
gomod_version() {
	local gomod="$1" mod="$2"
	awk -v mod="${mod}" '
		$1 == "require" && $2 != "(" { m = $2; v = $3 }
		$1 != "require" { m = $1; v = $2 }
		m == mod && v ~ /^v[0-9]/ { print v; exit }
	' "${gomod}"
}

# tool_version prints a tool's pinned version.
tool_version() {
	local tool="$1" mod version
	mod="$(tool_module "${tool}")" || return 1
	if [[ "${tool}" == minio ]]; then
		echo "${MLPIPE_MINIO_VERSION}"
		return 0
	fi
	if [[ "${tool}" == kserve-manager ]]; then
		echo "${MLPIPE_KSERVE_VERSION}"
		return 0
	fi
	version="$(gomod_version "$(tool_dir "${tool}")/go.mod" "${mod}")"
	if [[ -z "${version}" ]]; then
		echo "$(tool_dir "${tool}")/go.mod does not require ${mod}" >&2
		return 1
	fi
	echo "${version}"
}

# tool_path prints the absolute path of a tool's binary in the cache (whether or not it is built yet).
tool_path() {
	local tool="$1" version
	version="$(tool_version "${tool}")" || return 1
	printf '%s/%s/%s/%s\n' "$(tools_cache)" "${tool}" "${version}" "${tool}"
}

# envtest_assets_dir prints the directory holding etcd, kube-apiserver and kubectl side by side, as envtest's
# KUBEBUILDER_ASSETS expects.
envtest_assets_dir() {
	local etcd_version apiserver_version
	etcd_version="$(tool_version etcd)" || return 1
	apiserver_version="$(tool_version kube-apiserver)" || return 1
	printf '%s/envtest/kube-apiserver-%s-etcd-%s\n' "$(tools_cache)" "${apiserver_version}" "${etcd_version}"
}
