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
	"fmt"
	"path"
	"strings"
)

// Filter selects the objects that start a pipeline: the same rules on every path (interceptor, receiver).
type Filter struct {
	// Bucket must equal the object's bucket when set.
	Bucket string `json:"bucket,omitempty"`
	// Prefix must start the object's key when set.
	Prefix string `json:"prefix,omitempty"`
	// Suffix must end the object's key when set (ignored for marker objects).
	Suffix string `json:"suffix,omitempty"`
	// Events are accepted event names such as s3:ObjectCreated:* or s3:ObjectCreated:Put; empty means
	// s3:ObjectCreated:*. The "s3:" prefix is optional, as AWS omits it.
	Events []string `json:"events,omitempty"`
	// Marker, when set, is the base name of the object that says a batch is complete (e.g. _SUCCESS): only
	// marker objects start a run, and the run's object is the marker's directory.
	Marker string `json:"marker,omitempty"`
}

// Match reports whether o starts a run; when it does not, reason says why (for logs and responses).
func (f *Filter) Match(o *Object) (ok bool, reason string) {
	if f.Bucket != "" && o.Bucket != f.Bucket {
		return false, fmt.Sprintf("bucket %q is not %q", o.Bucket, f.Bucket)
	}
	if f.Prefix != "" && !strings.HasPrefix(o.Key, f.Prefix) {
		return false, fmt.Sprintf("key %q does not start with %q", o.Key, f.Prefix)
	}
	if !f.matchEvent(o.EventName) {
		return false, fmt.Sprintf("event %s is not one of %v", o.EventName, f.events())
	}
	if f.Marker != "" {
		if path.Base(o.Key) != f.Marker {
			return false, fmt.Sprintf("waiting for the marker object %s: %q is not one", f.Marker, o.Key)
		}
		return true, ""
	}
	if f.Suffix != "" && !strings.HasSuffix(o.Key, f.Suffix) {
		return false, fmt.Sprintf("key %q does not end with %q", o.Key, f.Suffix)
	}
	return true, ""
}

func (f *Filter) events() []string {
	if len(f.Events) == 0 {
		return []string{"s3:ObjectCreated:*"}
	}
	return f.Events
}

func (f *Filter) matchEvent(name string) bool {
	for _, e := range f.events() {
		if !strings.HasPrefix(e, "s3:") {
			e = "s3:" + e
		}
		if e == name {
			return true
		}
		if base, ok := strings.CutSuffix(e, "*"); ok && strings.HasPrefix(name, base) {
			return true
		}
	}
	return false
}

// Target returns the object a run starts for: o itself or, for a marker object, its directory (URI ending in
// '/', key the directory's prefix), which keeps o's version identity so duplicates still collapse.
func (f *Filter) Target(o Object) Object {
	if f.Marker == "" || path.Base(o.Key) != f.Marker {
		return o
	}
	dir := strings.TrimSuffix(o.Key, f.Marker)
	o.Key = dir
	o.URI = "s3://" + o.Bucket + "/" + dir
	return o
}

// Validate reports a filter that can never match.
func (f *Filter) Validate() error {
	if f.Bucket != "" {
		if err := ValidateBucket(f.Bucket); err != nil {
			return err
		}
	}
	if strings.Contains(f.Marker, "/") {
		return fmt.Errorf("marker must be a base name such as _SUCCESS, got %q", f.Marker)
	}
	for _, e := range f.Events {
		name := e
		if !strings.HasPrefix(name, "s3:") {
			name = "s3:" + name
		}
		if !validEventName(name) {
			return fmt.Errorf("invalid event name %q", e)
		}
	}
	return nil
}
