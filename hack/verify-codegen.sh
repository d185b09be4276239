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

# Fails when the generated code (hack/update-codegen.sh) is stale: it regenerates into a temporary copy of the
# tree, never touching the working tree, and diffs the generated paths against it.

set -o errexit -o nounset -o pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${REPO_ROOT}"

# What hack/update-codegen.sh writes.
GENERATED=(
	pkg/apis/mlpipe/v1alpha1/zz_generated.deepcopy.go
	pkg/client
)

TMP="$(mktemp -d "${TMPDIR:-/tmp}/mlpipe-verify-codegen.XXXXXX")"
trap 'rm -rf "${TMP}"' EXIT

# Copy the source tree (tracked and untracked files, minus what .gitignore excludes, so no .cache or bin/).
git ls-files -z --cached --others --exclude-standard |
	while IFS= read -r -d '' f; do [ -e "${f}" ] && printf '%s\0' "${f}"; done |
	tar --null --files-from=- -cf - | tar -xf - -C "${TMP}"

# Reuse the generators already built for this tree.
MLPIPE_CODEGEN_CACHE="${MLPIPE_CODEGEN_CACHE:-${XDG_CACHE_HOME:-${HOME:-${REPO_ROOT}}/.cache}/mlpipe/codegen}" "${TMP}/hack/update-codegen.sh"

stale=()
for p in "${GENERATED[@]}"; do
	while IFS= read -r line; do
		stale+=("${line}")
	done < <(diff -rq "${REPO_ROOT}/${p}" "${TMP}/${p}" 2>&1 |
		sed -e "s#${TMP}/##g" -e "s#${REPO_ROOT}/##g" || true)
done

if [ "${#stale[@]}" -ne 0 ]; then
	echo "Generated code is stale; run hack/update-codegen.sh (make generate) and commit the result:" >&2
	printf '  %s\n' "${stale[@]}" >&2
	exit 1
fi
echo "Generated code is up to date." >&2
