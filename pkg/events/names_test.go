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

package events

import (
	"os"
	"path/filepath"
	"testing"

	"knative.dev/pkg/kmeta"
)

// TestRunNamePinned pins the PipelineRun names of real captured payloads. A redelivered notification is
// deduplicated only because it maps to the same name, also when the delivery before the upgrade was answered by
// the old binary: a change to the decoder's DedupKey or to NameFor that renames runs fails here. The expected
// names were computed outside this code, as "<pipeline>-s3-" + the first 16 hex digits of
// sha256(DedupKey) (printf '%s' KEY | sha256sum), with the pipeline name lowercased, characters other than
// [a-z0-9-] replaced by '-', cut to 43 characters and trimmed of '-'.
func TestRunNamePinned(t *testing.T) {
	tests := []struct {
		file, pipeline string
		want           []string
	}{
		// The MinIO event captured from a real server (shared/testdata/minio-put-event.json).
		{"minio-put-spaces-plus.json", "churn", []string{"churn-s3-f379c46b66ca21f2"}},
		{"minio-put.json", "churn", []string{"churn-s3-ea355037ff69652c"}},
		{"minio-multipart.json", "churn", []string{"churn-s3-c15609355f50a6b1"}},
		{"minio-copy.json", "churn", []string{"churn-s3-6be6f05569f0318a"}},
		{"minio-delete.json", "churn", []string{"churn-s3-cc5b352d3030d683"}},
		{"minio-put-marker.json", "churn", []string{"churn-s3-ec0c224ffc348899"}},
		{"minio-put-unicode.json", "churn", []string{"churn-s3-351da8965dfabc2f"}},
		{"minio-put-versioned-1.json", "churn", []string{"churn-s3-aa3aa16409cb54ad"}},
		{"minio-put-versioned-2.json", "churn", []string{"churn-s3-1539d9a48325a052"}},
		{"aws-put.json", "fraud", []string{"fraud-s3-4d3b43bdea5e83f0"}},
		{"aws-put-encoded-key.json", "churn", []string{"churn-s3-7ce0af9c025fcf71"}},
		{"sns-s3-notification.json", "fraud", []string{"fraud-s3-4d3b43bdea5e83f0"}},
		{"eventbridge-object-created.json", "churn", []string{"churn-s3-866168d772085304"}},
		{"eventbridge-object-deleted.json", "churn", []string{"churn-s3-8a38b83a165165d3"}},
		// Pipeline names that do not fit or are not DNS labels.
		{"minio-put-spaces-plus.json", "churn-retraining-pipeline-for-region-euwest-model",
			[]string{"churn-retraining-pipeline-for-region-euwest-s3-f379c46b66ca21f2"}},
		{"minio-put.json", "churn-retraining-pipeline-for-region-euwes-model",
			[]string{"churn-retraining-pipeline-for-region-euwes-s3-ea355037ff69652c"}},
		{"minio-put-spaces-plus.json", "Churn_Model.v2", []string{"churn-model-v2-s3-f379c46b66ca21f2"}},
		{"minio-put-spaces-plus.json", "___", []string{"mlpipe-s3-f379c46b66ca21f2"}},
	}
	for _, tt := range tests {
		t.Run(tt.file+"/"+tt.pipeline, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			n, err := Decode(body)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for i := range n.Objects {
				got = append(got, n.Objects[i].RunName(tt.pipeline))
			}
			if len(got) != len(tt.want) {
				t.Fatalf("names %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("RunName(%q) of object %d = %q, want %q (renaming breaks deduplication across an upgrade)", tt.pipeline, i, got[i], tt.want[i])
				}
			}
		})
	}
}

// TestNameForPinned pins NameFor for another kind than s3: the generator names the EventListener's
// ClusterRoleBinding with it (ml-churn-s3-listener-<16 hex of sha256("ml/churn")>).
func TestNameForPinned(t *testing.T) {
	if got, want := NameFor("ml-churn", "s3-listener", "ml/churn"), "ml-churn-s3-listener-15aea2bcaa86abaa"; got != want {
		t.Errorf("NameFor = %q, want %q", got, want)
	}
}

// TestNameForIsChildNameWhenItFits: while "<prefix>-<kind>-<hash>" fits in 63 characters (every pipeline name
// the spec accepts: at most 40 characters), NameFor is knative's kmeta.ChildName(prefix, "-<kind>-<hash>").
// Beyond that the two differ (ChildName keeps 11 characters and an MD5 of the prefix; NameFor keeps 43 characters
// of the prefix): NameFor keeps its own form so that no existing run is renamed.
func TestNameForIsChildNameWhenItFits(t *testing.T) {
	for _, p := range []string{"churn", "fraud-detector", "a-forty-character-pipeline-name-for-test"} {
		got := NameFor(p, "s3", "k")
		if want := kmeta.ChildName(p, "-s3-"+"8254c329a92850f6"); got != want {
			t.Errorf("NameFor(%q) = %q, kmeta.ChildName = %q", p, got, want)
		}
	}
}
