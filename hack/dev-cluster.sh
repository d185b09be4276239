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

# Starts the integration tests' control plane on this machine until Ctrl-C: etcd + kube-apiserver, Tekton
# Pipelines' CRDs and real controller, and a stand-in kubelet that completes every TaskRun's Pod (no containers
# run). It prints `export KUBECONFIG=…` (and a PATH with the kubectl and tkn it built), then:
#
#   kubectl apply -k out/ && tkn pipeline start churn --use-param-defaults …
#
# Usage: hack/dev-cluster.sh [-result TASK.RESULT=VALUE]... [-fail TASK]... [-namespace NS]... [-kubelet=false]
#        [-triggers] [-feature-flag KEY=VALUE]... [-dir DIR]
# Builds the tools it needs on first use (see hack/build-tools.sh).

set -o errexit -o nounset -o pipefail

# shellcheck source=SCRIPTDIR/lib/tools.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/tools.sh"

"${MLPIPE_ROOT}/hack/build-tools.sh" etcd kube-apiserver kubectl tekton-controller tkn >&2
eval "$("${MLPIPE_ROOT}/hack/tools-env.sh")"

bin="$(tools_cache)/dev-cluster/dev-cluster"
mkdir -p "$(dirname "${bin}")"
(cd "${MLPIPE_ROOT}" && go build -o "${bin}" ./test/cluster/cmd/dev-cluster)
exec "${bin}" "$@"
