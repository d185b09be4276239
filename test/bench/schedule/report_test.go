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

package schedule

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// result is one measured configuration (Kind "slot") or one create-rate baseline (Kind "create-rate").
type result struct {
	Kind       string  `json:"kind"`
	Controller string  `json:"controller"`
	QPS        float32 `json:"qps"`
	Burst      int     `json:"burst"`
	N          int     `json:"n"`
	Slot       string  `json:"slot,omitempty"`
	// SlotIndex is 1 for the first slot after the schedules were created, 2 for the next.
	SlotIndex int `json:"slotIndex,omitempty"`
	// CreatedInMinute runs were created for the slot before slot+60s; Lost = N - CreatedInMinute.
	CreatedInMinute int `json:"createdInMinute"`
	// CreatedTotal runs were created for the slot by the end of the observation (15 s after the last measured
	// minute); OtherSlots runs for other slots were seen.
	CreatedTotal int `json:"createdTotal"`
	Lost         int `json:"lost"`
	OtherSlots   int `json:"otherSlots"`
	// SkewCreated is creationTimestamp - slot (1 s resolution); SkewSeen is when the benchmark's watch first saw
	// the run - slot. Over the runs created for the slot.
	SkewCreated summary `json:"skewCreated"`
	SkewSeen    summary `json:"skewSeen"`
	// Requests the controller made in [slot, slot+60s), per run created in the minute, and by verb/resource.
	Requests       int            `json:"requests"`
	RequestsPerRun float64        `json:"requestsPerRun"`
	Breakdown      map[string]int `json:"breakdown,omitempty"`
	// SetupRequests were made between the controller's watches starting and the slot (taking the schedules in).
	SetupRequests  int            `json:"setupRequests"`
	SetupBreakdown map[string]int `json:"setupBreakdown,omitempty"`
	RSSPeakMiB     float64        `json:"rssPeakMiB"`
	RSSEndMiB      float64        `json:"rssEndMiB"`
	// CPUSeconds the controller used during the measured minute.
	CPUSeconds float64 `json:"cpuSeconds"`
	// CreateSeconds the benchmark took to create the N schedules (or, for create-rate, the N runs).
	CreateSeconds    float64 `json:"createSeconds"`
	CreatesPerSecond float64 `json:"createsPerSecond,omitempty"`
	Load             string  `json:"load,omitempty"`
	Note             string  `json:"note,omitempty"`
}

type summary struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// summarize computes nearest-rank percentiles.
func summarize(xs []float64) summary {
	if len(xs) == 0 {
		return summary{}
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	rank := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(s)))) - 1
		if i < 0 {
			i = 0
		}
		return s[i]
	}
	return summary{N: len(s), P50: rank(0.50), P99: rank(0.99), Max: s[len(s)-1]}
}

var resultsMu sync.Mutex

// writeResult appends r to MLPIPE_BENCH_SCHEDULE_OUT (one JSON object per line), if set.
func writeResult(t *testing.T, r result) {
	t.Helper()
	path := os.Getenv(envOut)
	if path == "" {
		return
	}
	resultsMu.Lock()
	defer resultsMu.Unlock()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(append(b, '\n')); err != nil {
		t.Fatal(err)
	}
}

func readResults(path string) ([]result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []result
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var r result
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, r)
	}
	return out, sc.Err()
}

func slotName(i int) string {
	switch i {
	case 0, 1:
		return "1st"
	case 2:
		return "2nd"
	case 3:
		return "3rd"
	}
	return fmt.Sprintf("%dth", i)
}

func secs(s summary) string {
	if s.N == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f / %.1f / %.1f", s.P50, s.P99, s.Max)
}

// renderMarkdown prints the results as markdown: the slot table (ours beside the CronJob controller at each
// client limit), the machine's create limit, and the request breakdown.
func renderMarkdown(results []result) string {
	var slots, rates []result
	for _, r := range results {
		switch r.Kind {
		case "slot":
			slots = append(slots, r)
		case "create-rate":
			rates = append(rates, r)
		}
	}
	sort.SliceStable(slots, func(i, j int) bool {
		if slots[i].QPS != slots[j].QPS {
			return slots[i].QPS < slots[j].QPS
		}
		if slots[i].SlotIndex != slots[j].SlotIndex {
			return slots[i].SlotIndex < slots[j].SlotIndex
		}
		return strings.HasPrefix(slots[i].Controller, "mlpipe") && !strings.HasPrefix(slots[j].Controller, "mlpipe")
	})
	var b strings.Builder
	n := 0
	if len(slots) > 0 {
		n = slots[0].N
	}
	fmt.Fprintf(&b, "## %d schedules on `* * * * *` firing in the same minute (real kube-apiserver, %s)\n\n", n, time.Now().UTC().Format("2006-01-02"))
	b.WriteString("| controller | QPS/burst | slot | runs created in the minute | lost | skew p50 / p99 / max (creationTimestamp, s) | skew p50 / p99 / max (watch, s) | API requests per run | peak RSS (MiB) | CPU in the minute (s) | load avg |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range slots {
		fmt.Fprintf(&b, "| %s | %g/%d | %s | %d/%d | %d | %s | %s | %.2f | %.0f | %.1f | %s |\n",
			r.Controller, r.QPS, r.Burst, slotName(r.SlotIndex), r.CreatedInMinute, r.N, r.Lost, secs(r.SkewCreated), secs(r.SkewSeen),
			r.RequestsPerRun, r.RSSPeakMiB, r.CPUSeconds, r.Load)
	}
	if len(rates) > 0 {
		b.WriteString("\nMachine's own create limit (a plain client creating the same PipelineRuns, QPS 1000/burst 2000, through the same proxy):\n\n")
		b.WriteString("| client | runs | time (s) | creates/s | load avg |\n|---|---|---|---|---|\n")
		for _, r := range rates {
			fmt.Fprintf(&b, "| %s | %d | %.1f | %.0f | %s |\n", r.Controller, r.N, r.CreateSeconds, r.CreatesPerSecond, r.Load)
		}
	}
	if len(slots) > 0 {
		b.WriteString("\nAPI requests in the measured minute, per run created, by verb and resource; and while taking the schedules in (before the slot):\n\n")
		b.WriteString("| controller | QPS/burst | slot | in the minute (per run) | before the slot (total) | runs for the slot by the end | note |\n|---|---|---|---|---|---|---|\n")
		for _, r := range slots {
			fmt.Fprintf(&b, "| %s | %g/%d | %s | %s | %s | %d | %s |\n", r.Controller, r.QPS, r.Burst, slotName(r.SlotIndex),
				sortedBreakdown(r.Breakdown, max(r.CreatedInMinute, 1)), sortedBreakdown(r.SetupBreakdown, 0), r.CreatedTotal, r.Note)
		}
	}
	b.WriteString("\nSkew is measured from the slot to the run's creationTimestamp (whole seconds) and to the moment the benchmark's watch first saw it; runs created after slot+60 s count as lost for the minute. The 1st slot is the schedules' first (each schedule's first run, taken in just before); the 2nd has whatever the 1st left undone still queued. Peak RSS is VmHWM at the end of the run. Requests are counted by a proxy in front of the API server that only the controller under test uses.\n")
	return b.String()
}
