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
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestShebangArgv(t *testing.T) {
	tests := []struct {
		name, script string
		want         []string
	}{
		{name: "plain", script: "#!/bin/sh\necho", want: []string{"/bin/sh", "/s"}},
		{name: "one argument", script: "#!/bin/sh -e\necho", want: []string{"/bin/sh", "-e", "/s"}},
		{name: "spaces after #!", script: "#! /usr/bin/env python3\n", want: []string{"/usr/bin/env", "python3", "/s"}},
		{name: "rest of line is one argument", script: "#!/usr/bin/env -S python3 -u\n", want: []string{"/usr/bin/env", "-S python3 -u", "/s"}},
		{name: "tab separator, trailing blanks, CRLF", script: "#!/bin/bash\t-x  \r\n", want: []string{"/bin/bash", "-x", "/s"}},
		{name: "no newline", script: "#!/bin/true", want: []string{"/bin/true", "/s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := cmp.Diff(tt.want, shebangArgv(tt.script, "/s")); d != "" {
				t.Errorf("shebangArgv(%q) (-want +got):\n%s", tt.script, d)
			}
		})
	}
}
