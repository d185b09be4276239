/*
Copyright 2026 The mlpipe Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package localrun

import (
	"strings"

	"github.com/mlpipe/mlpipe/pkg/cache"
)

// ChangedComponents lists, in the words of `mlpipe cache explain`, the components that differ between two
// cache keys' components (as a cluster task's cache records keep them), so that the cluster's explain says
// what changed as the local one does.
func ChangedComponents(old, cur map[string]string) []string {
	return diffKeys(&cacheKey{Key: cache.Key{Components: old}}, &cacheKey{Key: cache.Key{Components: cur}})
}

// FormatComponents lists a key's components one a line, as `mlpipe cache explain` prints them for a hit.
func FormatComponents(components map[string]string) string {
	var b strings.Builder
	writeComponents(&b, &cacheKey{Key: cache.Key{Components: components}})
	return b.String()
}
