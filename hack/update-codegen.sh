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

# Regenerates the code for our own API types (pkg/apis/mlpipe/v1alpha1):
#
#   pkg/apis/mlpipe/v1alpha1/zz_generated.deepcopy.go   deepcopy-gen
#   pkg/client/clientset/versioned                      client-gen (typed clientset + fake)
#   pkg/client/listers                                  lister-gen
#   pkg/client/informers/externalversions               informer-gen
#   pkg/client/injection                                knative injection-gen (client, informer factory,
#                                                       informers, filtered informers)
#
# The generators are built once into ${MLPIPE_CODEGEN_CACHE:-~/.cache/mlpipe/codegen}/<module>-<version>/bin:
# k8s.io/code-generator at CODEGEN_VERSION (it follows client-go's minor, not apimachinery's) and
# knative.dev/pkg/codegen/cmd/injection-gen at the knative.dev/pkg version in go.mod. No genreconciler: the
# reconciler is hand-written. hack/verify-codegen.sh runs this script on a copy of the tree and diffs.

set -o errexit -o nounset -o pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${REPO_ROOT}"

CODEGEN_VERSION="v0.35.7"
KNATIVE_VERSION="$(go list -m -f '{{if .Replace}}{{.Replace.Version}}{{else}}{{.Version}}{{end}}' knative.dev/pkg)"

MODULE="$(go list -m)"
APIS_PKG="${MODULE}/pkg/apis/mlpipe/v1alpha1"
APIS_DIR="pkg/apis/mlpipe/v1alpha1"
CLIENT_PKG="${MODULE}/pkg/client"
CLIENT_DIR="pkg/client"
# The header has a fixed year: a YEAR placeholder would make verify-codegen fail every January.
BOILERPLATE="${REPO_ROOT}/hack/boilerplate.go.txt"

CACHE="${MLPIPE_CODEGEN_CACHE:-${XDG_CACHE_HOME:-${HOME:-${REPO_ROOT}}/.cache}/mlpipe/codegen}"
case "${CACHE}" in
/*) ;;
*) CACHE="${REPO_ROOT}/${CACHE}" ;;
esac
K8S_BIN="${CACHE}/code-generator-${CODEGEN_VERSION}/bin"
KNATIVE_BIN="${CACHE}/knative-pkg-${KNATIVE_VERSION}/bin"

# install_tools <bin dir> <binaries...> -- <go install args...>: builds into a temporary directory and moves it
# into place, so an interrupted or concurrent build never leaves a half-filled bin dir behind.
install_tools() {
	local bin="$1"
	shift
	local want=()
	while [ "$1" != "--" ]; do
		want+=("$1")
		shift
	done
	shift
	local missing=0 b
	for b in "${want[@]}"; do
		[ -x "${bin}/${b}" ] || missing=1
	done
	[ "${missing}" = 0 ] && return 0
	echo "Installing $* into ${bin}" >&2
	mkdir -p "$(dirname "${bin}")"
	local tmp
	tmp="$(mktemp -d "$(dirname "${bin}")/.install.XXXXXX")"
	# Built outside the module: the generators use their own go.mod, not ours.
	(cd "${tmp}" && GOBIN="${tmp}/bin" GOWORK=off nice go install "$@")
	rm -rf "${bin}"
	mv "${tmp}/bin" "${bin}"
	rm -rf "${tmp}"
}

install_tools "${K8S_BIN}" deepcopy-gen client-gen lister-gen informer-gen -- \
	"k8s.io/code-generator/cmd/deepcopy-gen@${CODEGEN_VERSION}" \
	"k8s.io/code-generator/cmd/client-gen@${CODEGEN_VERSION}" \
	"k8s.io/code-generator/cmd/lister-gen@${CODEGEN_VERSION}" \
	"k8s.io/code-generator/cmd/informer-gen@${CODEGEN_VERSION}"
install_tools "${KNATIVE_BIN}" injection-gen -- \
	"knative.dev/pkg/codegen/cmd/injection-gen@${KNATIVE_VERSION}"

# Start from nothing, so a type or file that is gone does not linger: pkg/client is entirely generated.
rm -f "${APIS_DIR}/zz_generated.deepcopy.go"
rm -rf "${CLIENT_DIR}"

echo "Generating deepcopy for ${APIS_PKG}" >&2
nice "${K8S_BIN}/deepcopy-gen" \
	--go-header-file "${BOILERPLATE}" \
	--output-file zz_generated.deepcopy.go \
	"${APIS_PKG}"

echo "Generating clientset ${CLIENT_PKG}/clientset/versioned" >&2
nice "${K8S_BIN}/client-gen" \
	--go-header-file "${BOILERPLATE}" \
	--clientset-name versioned \
	--input-base "" \
	--input "${APIS_PKG}" \
	--output-dir "${CLIENT_DIR}/clientset" \
	--output-pkg "${CLIENT_PKG}/clientset"

echo "Generating listers ${CLIENT_PKG}/listers" >&2
nice "${K8S_BIN}/lister-gen" \
	--go-header-file "${BOILERPLATE}" \
	--output-dir "${CLIENT_DIR}/listers" \
	--output-pkg "${CLIENT_PKG}/listers" \
	"${APIS_PKG}"

echo "Generating informers ${CLIENT_PKG}/informers/externalversions" >&2
nice "${K8S_BIN}/informer-gen" \
	--go-header-file "${BOILERPLATE}" \
	--versioned-clientset-package "${CLIENT_PKG}/clientset/versioned" \
	--listers-package "${CLIENT_PKG}/listers" \
	--output-dir "${CLIENT_DIR}/informers" \
	--output-pkg "${CLIENT_PKG}/informers" \
	"${APIS_PKG}"

echo "Generating knative injection ${CLIENT_PKG}/injection" >&2
nice "${KNATIVE_BIN}/injection-gen" \
	--go-header-file "${BOILERPLATE}" \
	--input-dirs "${APIS_PKG}" \
	--versioned-clientset-package "${CLIENT_PKG}/clientset/versioned" \
	--external-versions-informers-package "${CLIENT_PKG}/informers/externalversions" \
	--listers-package "${CLIENT_PKG}/listers" \
	--output-package "${CLIENT_PKG}/injection" \
	--output-dir "${CLIENT_DIR}/injection"

# The generators format their output already; gofmt -s once more so `make vet` never disagrees.
gofmt -s -w "${APIS_DIR}/zz_generated.deepcopy.go" "${CLIENT_DIR}"
