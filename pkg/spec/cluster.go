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

package spec

import (
	"fmt"
	"path/filepath"
	"strings"
)

// IsRelativePath reports whether uri is a plain path relative to the spec's directory (no scheme, not
// absolute). Local runs resolve it (LocalDataPath); inside a Pod it means nothing, so the generated Pipeline
// gives the param that carries it no default.
func IsRelativePath(uri string) bool {
	return uri != "" && !strings.Contains(uri, "://") && !filepath.IsAbs(uri)
}

// IsLocal reports whether uri names this machine's file system: file://, an absolute or a relative path.
// Each step of a cluster run has its own Pod and file system, so only s3:// works there.
func IsLocal(uri string) bool {
	return uri != "" && !strings.HasPrefix(uri, "s3://")
}

// clusterWarnings returns what in a valid spec works in a local run but not in a cluster, in file order.
func (p *MLPipeline) clusterWarnings() ErrorList {
	c := &checker{p: p}
	s := &p.Spec
	triggered := s.Triggers != nil && (s.Triggers.Schedule != nil || s.Triggers.S3 != nil)
	scheduled := s.Triggers != nil && s.Triggers.Schedule != nil
	if u := s.Data.URI; IsRelativePath(u) {
		msg := fmt.Sprintf("%q is a path on this machine (relative to the spec): in a cluster no Pod can read it, so the "+
			"generated Pipeline's data-uri param has no default; start runs with tkn pipeline start -p data-uri=s3://bucket/key, "+
			"or use an s3:// URI here", u)
		if scheduled {
			msg += "; the PipelineSchedule passes no data-uri, so its runs fail"
		}
		c.add("spec.data.uri", "%s", msg)
	} else if IsLocal(u) {
		c.add("spec.data.uri", "%q is a file on this machine: in a cluster the data-uri default names a path inside "+
			"the preprocess Pod, which does not have it; use an s3:// URI here, or start runs with tkn pipeline start "+
			"-p data-uri=s3://bucket/key", u)
	}
	if r := s.Register; r != nil && IsRelativePath(r.Store) {
		msg := fmt.Sprintf("%q is a directory on this machine (relative to the spec): in a cluster no Pod can reach it, "+
			"so the generated Pipeline's model-store param has no default; start runs with tkn pipeline start "+
			"-p model-store=s3://bucket/prefix, or use an s3:// store here", r.Store)
		if triggered {
			msg += "; runs started by spec.triggers pass no model-store, so they fail"
		}
		c.add("spec.register.store", "%s", msg)
	} else if r != nil && IsLocal(r.Store) {
		c.add("spec.register.store", "%q is a directory on this machine: in a cluster it is inside the register Pod and "+
			"vanishes with it, evaluate's champion lookup (another Pod) never sees it and the InferenceService points at a "+
			"path no predictor can read; use an s3:// store here, or start runs with tkn pipeline start "+
			"-p model-store=s3://bucket/prefix", r.Store)
	}
	if d := s.Deploy; d.Namespace() != "" && p.Metadata.Namespace == "" {
		what := "the InferenceService goes"
		if d.Target() == TargetKubernetes {
			what = "the Deployment and the Service go"
		}
		c.add(d.targetField()+".namespace", "%s to namespace %q but metadata.namespace is empty: "+
			"the RoleBinding there cannot know the namespace of the runner ServiceAccount and names \"default\"; "+
			"set metadata.namespace", what, d.Namespace())
	}
	return c.errs
}
