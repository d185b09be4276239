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

// Package cron computes schedule slots: the instants at which a set of cron expressions
// fires in an IANA time zone. Slots are wall-clock times: each wall-clock time a
// schedule names fires at most once, so the fall-back hour never fires twice, and a
// wall-clock time that falls in a spring-forward gap fires once, right after the gap.
//
// "@every <duration>" is the exception: it counts elapsed time, not the wall clock. Its slots
// are the whole multiples of the duration since the Unix epoch (so they are the same on every
// replica and after every restart), in any zone and across DST.
package cron

import (
	"fmt"
	"strings"
	"time"

	robfig "github.com/robfig/cron/v3"
)

// horizon bounds every search: a schedule with no slot within it never fires (e.g. 30 Feb).
const horizon = 5 * 366 * 24 * time.Hour

const starBit = 1 << 63

var parser = robfig.NewParser(robfig.Minute | robfig.Hour | robfig.Dom | robfig.Month | robfig.Dow | robfig.Descriptor)

// Schedule is one or more cron expressions read in one time zone.
type Schedule struct {
	specs []*robfig.SpecSchedule
	every []time.Duration
	loc   *time.Location
}

// Parse parses 5-field cron expressions, @-macros and "@every <duration>" (whole minutes,
// at least one) in the IANA zone tz (empty means UTC). A schedule with no slot within 5 years
// after now never fires and is an error; now comes from the caller's clock, because whether a
// schedule such as "0 0 29 2 *" fires within 5 years depends on the date (no Feb 29 from
// 2096-03-01 until 2104).
func Parse(exprs []string, tz string, now time.Time) (*Schedule, error) {
	if len(exprs) == 0 {
		return nil, fmt.Errorf("no schedule: give at least one cron expression")
	}
	if tz == "" {
		tz = "UTC"
	}
	if tz == "Local" {
		return nil, fmt.Errorf("time zone %q depends on the machine: use an IANA name such as Europe/Berlin", tz)
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q: use an IANA name such as Europe/Berlin", tz)
	}
	s := &Schedule{loc: loc}
	for _, e := range exprs {
		e = strings.TrimSpace(e)
		switch {
		case strings.HasPrefix(e, "@every"):
			d, err := parseEvery(e)
			if err != nil {
				return nil, err
			}
			s.every = append(s.every, d)
			continue
		case strings.HasPrefix(e, "TZ=") || strings.HasPrefix(e, "CRON_TZ="):
			return nil, fmt.Errorf("%q: set the time zone in timeZone, not in the expression", e)
		}
		sched, err := parser.Parse(sundaySeven(e))
		if err != nil {
			return nil, fmt.Errorf("invalid cron expression %q: %w", e, err)
		}
		spec, ok := sched.(*robfig.SpecSchedule)
		if !ok {
			return nil, fmt.Errorf("%q is not a calendar schedule", e)
		}
		s.specs = append(s.specs, spec)
	}
	if s.Next(now).IsZero() {
		return nil, fmt.Errorf("schedule %q never fires within 5 years", strings.Join(exprs, ", "))
	}
	return s, nil
}

// parseEvery parses "@every <duration>": whole minutes, from one minute up to the search horizon.
func parseEvery(e string) (time.Duration, error) {
	arg := strings.TrimSpace(strings.TrimPrefix(e, "@every"))
	d, err := time.ParseDuration(arg)
	switch {
	case arg == "" || err != nil:
		return 0, fmt.Errorf("%q: want @every <duration>, e.g. @every 90m or @every 6h", e)
	case d < time.Minute || d%time.Minute != 0:
		return 0, fmt.Errorf("%q: the interval must be a whole number of minutes, at least 1m", e)
	case d > horizon:
		return 0, fmt.Errorf("%q: the interval is longer than 5 years", e)
	}
	return d, nil
}

// everyNext is the first multiple of d since the Unix epoch strictly after t.
func everyNext(d time.Duration, t time.Time) time.Time {
	return everyPrev(d, t).Add(d)
}

// everyPrev is the latest multiple of d since the Unix epoch at or before t.
func everyPrev(d time.Duration, t time.Time) time.Time {
	n, dn := t.UnixNano(), int64(d)
	k := n / dn
	if n%dn < 0 {
		k--
	}
	return time.Unix(0, k*dn).In(t.Location())
}

// Location is the zone the schedule is read in.
func (s *Schedule) Location() *time.Location { return s.loc }

// wall is a wall-clock minute in the schedule's zone.
type wall struct {
	y    int
	mo   time.Month
	d    int
	h, m int
}

func (w wall) naive() time.Time { return time.Date(w.y, w.mo, w.d, w.h, w.m, 0, 0, time.UTC) }

func wallOf(t time.Time) wall {
	return wall{t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute()}
}

// instant maps a wall-clock minute to the instant it fires: the first occurrence of an
// ambiguous time, and the first instant after the gap for a time that does not exist.
func (s *Schedule) instant(w wall) time.Time {
	t := time.Date(w.y, w.mo, w.d, w.h, w.m, 0, 0, s.loc)
	if wallOf(t) != w {
		// In a gap: Go gives some instant; fire at the first valid instant after the gap.
		naive := w.naive()
		for probe := t.Add(-3 * time.Hour); ; probe = probe.Add(time.Minute) {
			if wallOf(probe).naive().After(naive) || wallOf(probe) == w {
				return probe.Truncate(time.Minute)
			}
		}
	}
	// Ambiguous: prefer the earlier instant that shows the same wall clock.
	for _, d := range []time.Duration{-time.Hour, -30 * time.Minute} {
		if e := t.Add(d); wallOf(e.In(s.loc)) == w {
			return e
		}
	}
	return t
}

func dayMatches(spec *robfig.SpecSchedule, t time.Time) bool {
	if 1<<uint(t.Month())&spec.Month == 0 {
		return false
	}
	dom := 1<<uint(t.Day())&spec.Dom > 0
	dow := 1<<uint(t.Weekday())&spec.Dow > 0
	if spec.Dom&starBit > 0 || spec.Dow&starBit > 0 {
		return dom && dow
	}
	return dom || dow
}

// walk visits the wall-clock minutes of spec from the minute of from, forward or
// backward, until visit returns false or the horizon is reached.
func walk(spec *robfig.SpecSchedule, from wall, forward bool, visit func(wall) bool) {
	step := 1
	if !forward {
		step = -1
	}
	day := time.Date(from.y, from.mo, from.d, 0, 0, 0, 0, time.UTC)
	for i := 0; i < int(horizon/(24*time.Hour)); i, day = i+1, day.AddDate(0, 0, step) {
		if !dayMatches(spec, day) {
			continue
		}
		for hi := 0; hi < 24; hi++ {
			h := hi
			if !forward {
				h = 23 - hi
			}
			if 1<<uint(h)&spec.Hour == 0 {
				continue
			}
			for mi := 0; mi < 60; mi++ {
				m := mi
				if !forward {
					m = 59 - mi
				}
				if 1<<uint(m)&spec.Minute == 0 {
					continue
				}
				w := wall{day.Year(), day.Month(), day.Day(), h, m}
				if i == 0 && (forward && w.naive().Before(from.naive()) || !forward && w.naive().After(from.naive())) {
					continue
				}
				if !visit(w) {
					return
				}
			}
		}
	}
}

// slack is how far a gap can move a wall-clock time: candidates are compared within it.
const slack = 3 * time.Hour

// Next returns the first slot strictly after t, or the zero time when there is none
// within 5 years.
func (s *Schedule) Next(t time.Time) time.Time {
	var best time.Time
	from := wallOf(t.In(s.loc).Add(-slack))
	for _, spec := range s.specs {
		var found time.Time
		walk(spec, from, true, func(w wall) bool {
			if !found.IsZero() && w.naive().After(wallOf(found.In(s.loc)).naive().Add(slack)) {
				return false
			}
			if in := s.instant(w); in.After(t) && (found.IsZero() || in.Before(found)) {
				found = in
			}
			return true
		})
		if !found.IsZero() && (best.IsZero() || found.Before(best)) {
			best = found
		}
	}
	for _, d := range s.every {
		if n := everyNext(d, t); best.IsZero() || n.Before(best) {
			best = n
		}
	}
	return best
}

// Prev returns the latest slot at or before t, or the zero time when there is none
// within 5 years.
func (s *Schedule) Prev(t time.Time) time.Time {
	var best time.Time
	from := wallOf(t.In(s.loc).Add(slack))
	for _, spec := range s.specs {
		var found time.Time
		walk(spec, from, false, func(w wall) bool {
			if !found.IsZero() && w.naive().Before(wallOf(found.In(s.loc)).naive().Add(-slack)) {
				return false
			}
			if in := s.instant(w); !in.After(t) && (found.IsZero() || in.After(found)) {
				found = in
			}
			return true
		})
		if !found.IsZero() && (best.IsZero() || found.After(best)) {
			best = found
		}
	}
	for _, d := range s.every {
		if p := everyPrev(d, t); best.IsZero() || p.After(best) {
			best = p
		}
	}
	return best
}

// Missed counts the slots in (after, upTo], stopping at limit+1, and returns the
// latest of them (zero when none).
func (s *Schedule) Missed(after, upTo time.Time, limit int) (count int, latest time.Time) {
	latest = s.Prev(upTo)
	if latest.IsZero() || !latest.After(after) {
		return 0, time.Time{}
	}
	for t := after; count <= limit; count++ {
		t = s.Next(t)
		if t.IsZero() || t.After(upTo) {
			break
		}
	}
	return count, latest
}

// DSTNote says how daylight saving time moved slot t, or "" when it did not.
func (s *Schedule) DSTNote(t time.Time) string {
	local := t.In(s.loc)
	if len(s.specs) == 0 {
		return "" // only @every: elapsed time, DST moves nothing
	}
	for _, d := range s.every {
		if everyPrev(d, t).Equal(t) && !s.matches(wallOf(local).naive()) {
			return "" // an @every slot
		}
	}
	_, off := local.Zone()
	for _, d := range []time.Duration{-time.Hour, time.Hour, -30 * time.Minute, 30 * time.Minute} {
		other := t.Add(d).In(s.loc)
		if _, o := other.Zone(); o != off && wallOf(other) == wallOf(local) {
			return fmt.Sprintf("%s occurs twice (clocks go back): fires once, at the first occurrence", local.Format("2006-01-02 15:04"))
		}
	}
	before := t.Add(-time.Minute).In(s.loc)
	gapStart, gapEnd := wallOf(before).naive().Add(time.Minute), wallOf(local).naive()
	for w := gapStart; w.Before(gapEnd); w = w.Add(time.Minute) {
		if s.matches(w) {
			return fmt.Sprintf("%s does not exist (clocks go forward): the slot fires at %s", w.Format("2006-01-02 15:04"), local.Format("15:04 MST"))
		}
	}
	return ""
}

// matches reports whether a wall-clock minute (given as a naive UTC time) is named by a spec.
func (s *Schedule) matches(w time.Time) bool {
	for _, spec := range s.specs {
		if dayMatches(spec, w) && 1<<uint(w.Hour())&spec.Hour != 0 && 1<<uint(w.Minute())&spec.Minute != 0 {
			return true
		}
	}
	return false
}

// sundaySeven rewrites day-of-week 7 as 0: crontab(5) reads both as Sunday, the parser only 0.
// "7" becomes "0" and a range "N-7" becomes "N-6,0"; anything else is left for the parser to judge.
func sundaySeven(expr string) string {
	fields := strings.Fields(expr)
	if len(fields) != 5 {
		return expr
	}
	items := strings.Split(fields[4], ",")
	for i, item := range items {
		switch {
		case item == "7":
			items[i] = "0"
		case strings.HasSuffix(item, "-7") && !strings.Contains(item, "/"):
			start := strings.TrimSuffix(item, "-7")
			if start == "7" {
				items[i] = "0"
			} else {
				items[i] = start + "-6,0"
			}
		}
	}
	fields[4] = strings.Join(items, ",")
	return strings.Join(fields, " ")
}
