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

# Starts the tests' cluster on this machine: the real node when it can run here (root, cgroups: containers run the
# step image built from this checkout), else the control plane with a stand-in kubelet (saying why); plus MinIO
# and an alert receiver that logs alerts. Once ready it writes its environment to .dev-cluster/env:
#
#   source .dev-cluster/env     # KUBECONFIG, PATH (kubectl, tkn), AWS_*, MLPIPE_POD_S3_ENDPOINT, MLPIPE_STEP_IMAGE
#
# Usage: hack/dev-cluster.sh [up|down] [-node auto|real|stand-in] [-result TASK.RESULT=VALUE]... [-fail TASK]...
#        [-namespace NS]... [-triggers] [-feature-flag KEY=VALUE]... [-minio=false] [-kserve=false] [-keep-data]
#   (no verb)  run in the foreground until Ctrl-C
#   up         start in the background, return once ready (log: .dev-cluster/log)
#   down       stop the background cluster and wait until it is gone
# Builds the tools it needs on first use (see hack/build-tools.sh).

set -o errexit -o nounset -o pipefail

# shellcheck source=SCRIPTDIR/lib/tools.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/tools.sh"

# MLPIPE_DEV_CLUSTER_DIR moves the state folder (tests use their own, so a developer's cluster is left alone).
state="${MLPIPE_DEV_CLUSTER_DIR:-${MLPIPE_ROOT}/.dev-cluster}"
pidfile="${state}/pid"

running() { [[ -f "${pidfile}" ]] && kill -0 "$(cat "${pidfile}")" 2>/dev/null; }

down() {
	if ! running; then
		echo "dev-cluster: not running"
		rm -f "${pidfile}" "${state}/env"
		return 0
	fi
	local pid
	pid="$(cat "${pidfile}")"
	kill -TERM "${pid}"
	for _ in $(seq 1 120); do
		kill -0 "${pid}" 2>/dev/null || break
		sleep 0.5
	done
	if kill -0 "${pid}" 2>/dev/null; then
		echo "dev-cluster: ${pid} did not stop within 60 s; killing it (the next start cleans up what it leaves)" >&2
		kill -KILL "${pid}" || true
	fi
	rm -f "${pidfile}" "${state}/env"
	echo "dev-cluster: stopped"
}

verb=""
case "${1:-}" in
up | down) verb="$1" && shift ;;
esac
if [[ "${verb}" == down ]]; then
	down
	exit 0
fi
if running; then
	echo "dev-cluster: already running (pid $(cat "${pidfile}")); source ${state}/env, or make dev-cluster-down" >&2
	exit 1
fi

"${MLPIPE_ROOT}/hack/install-node-packages.sh" >&2
"${MLPIPE_ROOT}/hack/build-tools.sh" >&2
eval "$("${MLPIPE_ROOT}/hack/tools-env.sh")"

bin="$(tools_cache)/dev-cluster/dev-cluster"
mkdir -p "$(dirname "${bin}")" "${state}"
(cd "${MLPIPE_ROOT}" && go build -o "${bin}" ./test/cluster/cmd/dev-cluster)

if [[ "${verb}" != up ]]; then
	exec "${bin}" -dir "${state}" "$@"
fi

rm -f "${state}/env"
nohup "${bin}" -dir "${state}" "$@" >"${state}/log" 2>&1 </dev/null &
echo $! >"${pidfile}"
for _ in $(seq 1 600); do
	if [[ -f "${state}/env" ]]; then
		grep '^dev-cluster: ' "${state}/log" | grep -v '^dev-cluster: real node: ' || true
		echo "dev-cluster: ready (pid $(cat "${pidfile}"), log ${state}/log); now: source ${state#"${PWD}/"}/env"
		exit 0
	fi
	if ! running; then
		echo "dev-cluster: failed to start; tail of ${state}/log:" >&2
		tail -30 "${state}/log" >&2
		rm -f "${pidfile}"
		exit 1
	fi
	sleep 0.5
done
echo "dev-cluster: not ready within 5 minutes; see ${state}/log (make dev-cluster-down stops it)" >&2
exit 1
