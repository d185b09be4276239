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

# Installs Debian's chromium (headless rendering of mlpipe report's HTML in test/integration) when it is missing.
# Only as root: otherwise it says what is missing and exits 0, and the browser test skips (fails under
# MLPIPE_REQUIRE_TOOLS=1) with that message. Prints the browser's path on its last line when one is installed.

set -o errexit -o nounset -o pipefail

find_browser() {
	command -v chromium || command -v chromium-browser || command -v google-chrome || true
}

browser="$(find_browser)"
if [[ -n "$browser" ]]; then
	echo "$browser"
	exit 0
fi
if [[ "$(id -u)" != 0 ]]; then
	echo "install-chromium: not root: cannot apt-get install chromium" >&2
	exit 0
fi
echo "install-chromium: installing chromium ..." >&2
export DEBIAN_FRONTEND=noninteractive
log=/tmp/mlpipe-apt-chromium.log
if ! apt-get install -y --no-install-recommends chromium fonts-dejavu-core >"$log" 2>&1; then
	apt-get update >>"$log" 2>&1
	apt-get install -y --no-install-recommends chromium fonts-dejavu-core >>"$log" 2>&1 ||
		{ tail -20 "$log" >&2; echo "install-chromium: apt-get failed (log: $log)" >&2; exit 1; }
fi
find_browser
