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

package cron

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// checkedAt is the date the tests' schedules are parsed at.
var checkedAt = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

func mustParse(t *testing.T, tz string, exprs ...string) *Schedule {
	t.Helper()
	s, err := Parse(exprs, tz, checkedAt)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func ts(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// nextN lists n slots after from, as RFC 3339 in UTC.
func nextN(s *Schedule, from time.Time, n int) []string {
	var out []string
	for t := from; len(out) < n; {
		t = s.Next(t)
		if t.IsZero() {
			break
		}
		out = append(out, t.UTC().Format(time.RFC3339))
	}
	return out
}

func TestNext(t *testing.T) {
	tests := []struct {
		name  string
		tz    string
		exprs []string
		from  string
		want  []string
	}{{
		name: "every minute", tz: "UTC", exprs: []string{"* * * * *"}, from: "2026-01-01T00:00:30Z",
		want: []string{"2026-01-01T00:01:00Z", "2026-01-01T00:02:00Z", "2026-01-01T00:03:00Z"},
	}, {
		name: "weekly on Monday 02:00 in Berlin (winter, UTC+1)", tz: "Europe/Berlin", exprs: []string{"0 2 * * 1"}, from: "2026-01-01T00:00:00Z",
		want: []string{"2026-01-05T01:00:00Z", "2026-01-12T01:00:00Z"},
	}, {
		name: "daily 02:30 across spring forward in Berlin: the gap slot fires once at 03:00 CEST", tz: "Europe/Berlin", exprs: []string{"30 2 * * *"}, from: "2026-03-28T00:00:00Z",
		want: []string{"2026-03-28T01:30:00Z", "2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"},
	}, {
		name: "daily 02:30 across fall back in Berlin: fires once, at the first occurrence", tz: "Europe/Berlin", exprs: []string{"30 2 * * *"}, from: "2026-10-24T00:00:00Z",
		want: []string{"2026-10-24T00:30:00Z", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"},
	}, {
		name: "every 30 minutes through the fall-back hour: no wall-clock minute fires twice", tz: "Europe/Berlin", exprs: []string{"*/30 * * * *"}, from: "2026-10-24T23:45:00Z",
		want: []string{"2026-10-25T00:00:00Z", "2026-10-25T00:30:00Z", "2026-10-25T02:00:00Z", "2026-10-25T02:30:00Z"},
	}, {
		name: "every 30 minutes through spring forward: the two gap slots collapse into one", tz: "America/New_York", exprs: []string{"*/30 * * * *"}, from: "2026-03-08T06:45:00Z",
		want: []string{"2026-03-08T07:00:00Z", "2026-03-08T07:30:00Z", "2026-03-08T08:00:00Z"},
	}, {
		name: "two schedules merge in order", tz: "UTC", exprs: []string{"0 12 * * *", "0 6 * * *"}, from: "2026-01-01T00:00:00Z",
		want: []string{"2026-01-01T06:00:00Z", "2026-01-01T12:00:00Z", "2026-01-02T06:00:00Z"},
	}, {
		name: "macros", tz: "UTC", exprs: []string{"@monthly"}, from: "2026-01-15T00:00:00Z",
		want: []string{"2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z"},
	}, {
		name: "dom or dow when both restricted", tz: "UTC", exprs: []string{"0 0 13 * 5"}, from: "2026-02-01T00:00:00Z",
		want: []string{"2026-02-06T00:00:00Z", "2026-02-13T00:00:00Z", "2026-02-20T00:00:00Z"},
	}, {
		name: "day-of-week 7 is Sunday, as in crontab", tz: "UTC", exprs: []string{"0 2 * * 7"}, from: "2026-01-01T00:00:00Z",
		want: []string{"2026-01-04T02:00:00Z", "2026-01-11T02:00:00Z"},
	}, {
		name: "a range up to 7 includes Sunday", tz: "UTC", exprs: []string{"0 0 * * 5-7"}, from: "2026-01-01T00:00:00Z",
		want: []string{"2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z", "2026-01-04T00:00:00Z", "2026-01-09T00:00:00Z"},
	}, {
		name: "@every 90m: multiples of 90 minutes since the epoch, in any zone", tz: "Asia/Kathmandu", exprs: []string{"@every 90m"}, from: "2026-01-01T00:00:00Z",
		want: []string{"2026-01-01T01:30:00Z", "2026-01-01T03:00:00Z", "2026-01-01T04:30:00Z"},
	}, {
		name: "@every 1h counts elapsed time through the fall-back hour: both 02:00s fire", tz: "Europe/Berlin", exprs: []string{"@every 1h"}, from: "2026-10-24T23:30:00Z",
		want: []string{"2026-10-25T00:00:00Z", "2026-10-25T01:00:00Z", "2026-10-25T02:00:00Z"},
	}, {
		name: "@every merges with a cron expression", tz: "UTC", exprs: []string{"@every 8h", "30 1 * * *"}, from: "2026-01-01T00:00:00Z",
		want: []string{"2026-01-01T01:30:00Z", "2026-01-01T08:00:00Z", "2026-01-01T16:00:00Z", "2026-01-02T00:00:00Z"},
	}, {
		name: "leap day", tz: "UTC", exprs: []string{"0 0 29 2 *"}, from: "2026-01-01T00:00:00Z",
		want: []string{"2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustParse(t, tt.tz, tt.exprs...)
			if diff := cmp.Diff(tt.want, nextN(s, ts(t, tt.from), len(tt.want))); diff != "" {
				t.Errorf("Next (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPrevIsInverseOfNext(t *testing.T) {
	for _, tz := range []string{"UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu"} {
		for _, expr := range []string{"*/7 * * * *", "30 2 * * *", "0 */3 * * 1-5", "15 1,2,3 * * *"} {
			s := mustParse(t, tz, expr)
			from := ts(t, "2026-03-01T00:00:00Z")
			for i := 0; i < 400; i++ {
				next := s.Next(from)
				if !next.After(from) {
					t.Fatalf("%s %q: Next(%v) = %v, not after", tz, expr, from, next)
				}
				if prev := s.Prev(next); !prev.Equal(next) {
					t.Fatalf("%s %q: Prev(Next(%v)) = %v, want %v", tz, expr, from, prev, next)
				}
				if prev := s.Prev(next.Add(-time.Second)); !prev.Before(next) {
					t.Fatalf("%s %q: Prev just before slot %v = %v", tz, expr, next, prev)
				}
				from = next
			}
		}
	}
}

func TestMissed(t *testing.T) {
	s := mustParse(t, "UTC", "* * * * *")
	count, latest := s.Missed(ts(t, "2026-01-01T00:00:00Z"), ts(t, "2026-01-01T02:00:30Z"), 100)
	if count != 101 || !latest.Equal(ts(t, "2026-01-01T02:00:00Z")) {
		t.Errorf("Missed over 2h = %d, %v; want 101 (capped), 02:00", count, latest)
	}
	count, latest = s.Missed(ts(t, "2026-01-01T00:00:00Z"), ts(t, "2026-01-01T00:03:10Z"), 100)
	if count != 3 || !latest.Equal(ts(t, "2026-01-01T00:03:00Z")) {
		t.Errorf("Missed over 3m = %d, %v", count, latest)
	}
	if count, latest := s.Missed(ts(t, "2026-01-01T00:03:00Z"), ts(t, "2026-01-01T00:03:59Z"), 100); count != 0 || !latest.IsZero() {
		t.Errorf("Missed with nothing due = %d, %v", count, latest)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		exprs []string
		tz    string
		want  string
	}{
		{nil, "UTC", "no schedule: give at least one cron expression"},
		{[]string{"0 25 * * *"}, "UTC", `invalid cron expression "0 25 * * *": end of range (25) above maximum (23): 25`},
		{[]string{"@every 30s"}, "UTC", `"@every 30s": the interval must be a whole number of minutes, at least 1m`},
		{[]string{"@every 90m30s"}, "UTC", `"@every 90m30s": the interval must be a whole number of minutes, at least 1m`},
		{[]string{"@every"}, "UTC", `"@every": want @every <duration>, e.g. @every 90m or @every 6h`},
		{[]string{"@every 2 hours"}, "UTC", `"@every 2 hours": want @every <duration>, e.g. @every 90m or @every 6h`},
		{[]string{"0 0 * * *"}, "Mars/Olympus", `unknown time zone "Mars/Olympus": use an IANA name such as Europe/Berlin`},
		{[]string{"0 0 30 2 *"}, "UTC", `schedule "0 0 30 2 *" never fires within 5 years`},
		{[]string{"CRON_TZ=UTC 0 0 * * *"}, "UTC", `"CRON_TZ=UTC 0 0 * * *": set the time zone in timeZone, not in the expression`},
	}
	for _, tt := range tests {
		_, err := Parse(tt.exprs, tt.tz, checkedAt)
		if err == nil || err.Error() != tt.want {
			t.Errorf("Parse(%q, %q) = %v, want %q", tt.exprs, tt.tz, err, tt.want)
		}
	}
}

// TestParseNeverFiresDependsOnTheDate: Feb 29 fires within 5 years of 2026, but not of
// 2096-03-01 (2100 is no leap year; the next Feb 29 is in 2104). The date is the caller's.
func TestParseNeverFiresDependsOnTheDate(t *testing.T) {
	if _, err := Parse([]string{"0 0 29 2 *"}, "UTC", time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Errorf("Parse at 2026-06-01 = %v, want no error", err)
	}
	_, err := Parse([]string{"0 0 29 2 *"}, "UTC", time.Date(2096, 3, 1, 0, 0, 0, 0, time.UTC))
	if want := `schedule "0 0 29 2 *" never fires within 5 years`; err == nil || err.Error() != want {
		t.Errorf("Parse at 2096-03-01 = %v, want %q", err, want)
	}
}

func TestDSTNote(t *testing.T) {
	s := mustParse(t, "Europe/Berlin", "30 2 * * *")
	if n := s.DSTNote(ts(t, "2026-03-29T01:00:00Z")); n == "" {
		t.Error("spring-forward slot not marked")
	}
	if n := s.DSTNote(ts(t, "2026-10-25T00:30:00Z")); n == "" {
		t.Error("fall-back slot not marked")
	}
	if n := s.DSTNote(ts(t, "2026-06-01T00:30:00Z")); n != "" {
		t.Errorf("summer slot marked: %s", n)
	}
	daily3 := mustParse(t, "Europe/Berlin", "0 3 * * *")
	if n := daily3.DSTNote(ts(t, "2026-03-29T01:00:00Z")); n != "" {
		t.Errorf("03:00 on spring-forward day is a real time, marked: %s", n)
	}
}

func BenchmarkNext(b *testing.B) {
	s, _ := Parse([]string{"*/5 * * * *"}, "Europe/Berlin", checkedAt)
	t := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	for b.Loop() {
		t = s.Next(t)
	}
}

// FuzzParse: any expression either fails to parse with an error or yields slots that move forward and that
// Prev maps back onto, in zones with DST shifts of an hour, of 30 minutes, and none.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{"* * * * *", "30 2 * * *", "0 0 29 2 *", "*/15 9-17 * * MON-FRI", "0 2 * * 7", "0 0 * * 5-7", "@every 90m", "@weekly", "0 0 31 2 *", "61 * * * *"} {
		f.Add(seed, uint8(0), int64(1774656000))
	}
	zones := []string{"UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu"}
	f.Fuzz(func(t *testing.T, expr string, zone uint8, unix int64) {
		from := time.Unix(unix%(50*365*24*3600), 0).UTC()
		s, err := Parse([]string{expr}, zones[int(zone)%len(zones)], from)
		if err != nil {
			return
		}
		next := s.Next(from)
		if next.IsZero() {
			return
		}
		if !next.After(from) {
			t.Fatalf("%q: Next(%s) = %s, not after", expr, from, next)
		}
		if prev := s.Prev(next); !prev.Equal(next) {
			t.Fatalf("%q: Prev(Next(%s)) = %s, want %s", expr, from, prev, next)
		}
		if again := s.Next(next); !again.IsZero() && !again.After(next) {
			t.Fatalf("%q: Next(%s) = %s, not after", expr, next, again)
		}
	})
}
