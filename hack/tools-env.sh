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

# Prints shell exports that point the integration tests at the tools hack/build-tools.sh builds:
#
#   eval "$(hack/tools-env.sh)"
#
#   KUBEBUILDER_ASSETS            directory with etcd, kube-apiserver and kubectl (envtest)
#   MLPIPE_KUBECTL_BIN            kubectl, same release as kube-apiserver
#   MLPIPE_TEKTON_CONTROLLER_BIN  Tekton Pipelines' controller
#   MLPIPE_MINIO_BIN              MinIO server
#   MLPIPE_TKN_BIN                tkn
#   MLPIPE_KCM_BIN                kube-controller-manager, same release as kube-apiserver (the real node, and
#                                 the schedule benchmark)
#   MLPIPE_KUBE_SCHEDULER_BIN     kube-scheduler (the real node)
#   MLPIPE_KUBELET_BIN            kubelet (the real node)
#   MLPIPE_TEKTON_<NAME>_BIN      the programs of Tekton's Pod images (ENTRYPOINT, NOP, WORKINGDIRINIT,
#                                 SIDECARLOGRESULTS), packed into local images by the real node
#   MLPIPE_KSERVE_MANAGER_BIN     KServe's controller manager (the real node serves InferenceServices with it)
#
# It prints the paths whether or not the binaries are built yet (tests skip when one is missing); it builds
# nothing and needs no network.

set -o errexit -o nounset -o pipefail

# shellcheck source=SCRIPTDIR/lib/tools.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/tools.sh"

emit() {
	printf 'export %s=%q\n' "$1" "$2"
}

emit KUBEBUILDER_ASSETS "$(envtest_assets_dir)"
emit MLPIPE_KUBECTL_BIN "$(tool_path kubectl)"
emit MLPIPE_TEKTON_CONTROLLER_BIN "$(tool_path tekton-controller)"
emit MLPIPE_MINIO_BIN "$(tool_path minio)"
emit MLPIPE_TKN_BIN "$(tool_path tkn)"
emit MLPIPE_KCM_BIN "$(tool_path kube-controller-manager)"
emit MLPIPE_KUBE_SCHEDULER_BIN "$(tool_path kube-scheduler)"
emit MLPIPE_KUBELET_BIN "$(tool_path kubelet)"
emit MLPIPE_KSERVE_MANAGER_BIN "$(tool_path kserve-manager)"
for name in entrypoint nop workingdirinit sidecarlogresults; do
	emit "MLPIPE_TEKTON_${name^^}_BIN" "$(tool_path "tekton-${name}")"
done
