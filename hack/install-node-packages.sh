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

# Installs the Debian packages the real test node runs on (test/cluster/node): containerd, runc, the CNI plugins
# and a static busybox (the shell image of Tekton's script steps). Only when missing, and only as root: without
# root the real-node tests skip (or fail under MLPIPE_REQUIRE_TOOLS=1) with a message, so this script then only
# says what is missing.

set -o errexit -o nounset -o pipefail

need=()
command -v containerd >/dev/null || need+=(containerd)
command -v runc >/dev/null || need+=(runc)
[[ -x /usr/lib/cni/bridge && -x /usr/lib/cni/host-local && -x /usr/lib/cni/loopback ]] || need+=(containernetworking-plugins)
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'install ok installed' || need+=(busybox-static)
command -v ip >/dev/null || need+=(iproute2)
command -v mount >/dev/null || need+=(mount)

if [[ ${#need[@]} -eq 0 ]]; then
	echo "install-node-packages: containerd, runc, CNI plugins and busybox-static are installed"
	exit 0
fi
if [[ "$(id -u)" != 0 ]]; then
	echo "install-node-packages: not root: cannot install ${need[*]} (the real-node tests need root anyway)" >&2
	exit 0
fi
echo "install-node-packages: installing ${need[*]} ..."
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends "${need[@]}" >/tmp/mlpipe-apt.log 2>&1; then
	apt-get update >>/tmp/mlpipe-apt.log 2>&1
	apt-get install -y --no-install-recommends "${need[@]}" >>/tmp/mlpipe-apt.log 2>&1 ||
		{ tail -20 /tmp/mlpipe-apt.log >&2; echo "install-node-packages: apt-get failed" >&2; exit 1; }
fi
# Debian's containerd package starts the system daemon; the harness runs its own, with its own socket and state.
if command -v systemctl >/dev/null && systemctl is-active --quiet containerd 2>/dev/null; then
	systemctl stop containerd || true
fi
echo "install-node-packages: installed ${need[*]}"
