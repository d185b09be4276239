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
	"context"

	"github.com/tektoncd/pipeline/pkg/apis/config"
)

// WithCEL returns ctx with Tekton's enable-cel-in-whenexpression feature flag
// on (and the other settings of ctx's config, or Tekton's defaults), as on a
// cluster where that flag is set.
func WithCEL(ctx context.Context) context.Context {
	cfg := config.FromContextOrDefaults(ctx)
	c := *cfg
	ff := *cfg.FeatureFlags
	ff.EnableCELInWhenExpression = true
	c.FeatureFlags = &ff
	return config.ToContext(ctx, &c)
}
