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
	"bytes"
	"io"
	"os"
	"regexp"
	"strconv"
	"time"
)

// Progress is the latest training progress a task's log shows.
type Progress struct {
	// Epoch of Epochs is the last finished epoch.
	Epoch, Epochs int
	// Loss is that epoch's training loss.
	Loss float64
}

// progressLine matches the lines the built-in train step prints after each epoch ("epoch 3/40 loss 0.415211",
// followed by " val-loss 0.42 rows/s 123456": ml.Progress); a user's script that prints the same shape gets the
// same live view.
var progressLine = regexp.MustCompile(`(?m)^epoch (\d+)/(\d+) loss (\S+)(?:[ \t].*)?$`)

// attemptHeader starts each attempt's part of a log (execute.go writes "=== attempt N, step S").
var attemptHeader = []byte("\n=== attempt ")

// parseProgress returns the last progress line of the current attempt in a log's tail.
func parseProgress(tail []byte) (Progress, bool) {
	if i := bytes.LastIndex(tail, attemptHeader); i >= 0 {
		tail = tail[i+1:]
	}
	all := progressLine.FindAllSubmatch(tail, -1)
	for i := len(all) - 1; i >= 0; i-- {
		m := all[i]
		epoch, err1 := strconv.Atoi(string(m[1]))
		epochs, err2 := strconv.Atoi(string(m[2]))
		loss, err3 := strconv.ParseFloat(string(m[3]), 64)
		if err1 == nil && err2 == nil && err3 == nil && epochs > 0 && epoch <= epochs {
			return Progress{Epoch: epoch, Epochs: epochs, Loss: loss}, true
		}
	}
	return Progress{}, false
}

// ETA estimates the time left from the time the task has run so far, assuming epochs take equally long.
func (p Progress) ETA(elapsed time.Duration) time.Duration {
	if p.Epoch <= 0 || p.Epoch >= p.Epochs {
		return 0
	}
	return time.Duration(float64(elapsed) / float64(p.Epoch) * float64(p.Epochs-p.Epoch))
}

// readProgress reads the last 4 KiB of a task's log and parses its progress.
func readProgress(path string) (Progress, bool) {
	f, err := os.Open(path)
	if err != nil {
		return Progress{}, false
	}
	defer f.Close()
	const window = 4 << 10
	if info, err := f.Stat(); err == nil && info.Size() > window {
		if _, err := f.Seek(-window, io.SeekEnd); err != nil {
			return Progress{}, false
		}
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return Progress{}, false
	}
	return parseProgress(data)
}
