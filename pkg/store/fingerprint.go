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

package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/minio/minio-go/v7"
)

// MaxFingerprintObjects bounds how many objects under a prefix Fingerprint lists.
const MaxFingerprintObjects = 10000

// Fingerprint identifies what is behind an s3:// URI now, without reading the data: an object's ETag, version
// and size, or, when the URI names a prefix ("directory"), the key, ETag and size of every object under it.
// It changes when the content does (a new upload changes the ETag), so a local cache can key on it.
// "absent" means nothing is there. getenv supplies the AWS_* settings (nil: the process environment).
func Fingerprint(ctx context.Context, uri string, getenv func(string) string) (string, error) {
	rest, ok := strings.CutPrefix(uri, "s3://")
	if !ok {
		return "", fmt.Errorf("%q is not an s3:// URI", uri)
	}
	if getenv == nil {
		getenv = os.Getenv
	}
	bucket, key, _ := strings.Cut(rest, "/")
	s, err := newS3Store(ctx, bucket, "", getenv)
	if err != nil {
		return "", err
	}
	if key != "" && !strings.HasSuffix(key, "/") {
		info, err := s.client.StatObject(ctx, bucket, key, minio.StatObjectOptions{})
		if err == nil {
			return fmt.Sprintf("object etag=%s version=%s size=%d", info.ETag, info.VersionID, info.Size), nil
		}
		if resp := minio.ToErrorResponse(err); resp.Code != minio.NoSuchKey && resp.StatusCode != 404 {
			return "", s.wrap("reading the metadata of", key, err)
		}
		key += "/" // not an object: perhaps a prefix
	}
	var lines []string
	for obj := range s.client.ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: key, Recursive: true}) {
		if obj.Err != nil {
			return "", s.wrap("listing", key, obj.Err)
		}
		if len(lines) == MaxFingerprintObjects {
			return "", fmt.Errorf("%s holds more than %d objects: too many to fingerprint", uri, MaxFingerprintObjects)
		}
		lines = append(lines, fmt.Sprintf("%s %s %d", obj.Key, obj.ETag, obj.Size))
	}
	if len(lines) == 0 {
		return "absent", nil
	}
	sort.Strings(lines)
	sum := sha256.Sum256([]byte(strings.Join(lines, "\n")))
	return fmt.Sprintf("prefix objects=%d sha256=%s", len(lines), hex.EncodeToString(sum[:])), nil
}
