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

package commands

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/mlpipe/mlpipe/pkg/apis/mlpipe/v1alpha1"
	"github.com/mlpipe/mlpipe/pkg/cron"
	"github.com/mlpipe/mlpipe/pkg/spec"
)

func addSchedule(topLevel *cobra.Command) {
	sched := &cobra.Command{
		Use:   "schedule",
		Short: "Check cron schedules before you apply them",
	}
	var (
		exprs  []string
		tz     string
		from   string
		file   string
		output string
		n      int
	)
	next := &cobra.Command{
		Use:   "next [CRON]...",
		Short: "Print the next N slot times of a schedule (a table on a terminal, one RFC 3339 timestamp a line otherwise)",
		Long: "Print the next N slots of cron expressions, of the triggers.schedule of an mlpipe.yaml, or of a\n" +
			"PipelineSchedule manifest (-f), in the schedule's time zone, with notes where daylight saving time\n" +
			"moves or repeats a slot. The controller starts exactly one PipelineRun for each slot printed.",
		Example: `  mlpipe schedule next "0 2 * * 1" --time-zone Europe/Berlin -n 5
  mlpipe schedule next --cron "30 2 * * *" --time-zone Europe/Berlin --from 2026-03-27T00:00:00Z -n 3
  mlpipe schedule next -f mlpipe.yaml
  mlpipe schedule next -f out/schedule.yaml -o json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			exprs = append(exprs, args...)
			if file != "" {
				fileExprs, fileTZ, err := schedulesFromFile(file)
				if err != nil {
					return err
				}
				exprs = append(exprs, fileExprs...)
				if !cmd.Flags().Changed("time-zone") {
					tz = fileTZ
				}
			}
			if len(exprs) == 0 {
				return fmt.Errorf("no schedule: give a cron expression (mlpipe schedule next \"0 2 * * *\"), --cron or -f FILE")
			}
			now := time.Now()
			t := now
			showIn := from == ""
			if from != "" {
				var err error
				if t, err = time.Parse(time.RFC3339, from); err != nil {
					return fmt.Errorf("invalid --from %q: use RFC 3339, e.g. 2026-03-27T00:00:00Z", from)
				}
			}
			// Whether the schedule fires within 5 years is decided from the first slot asked for.
			s, err := cron.Parse(exprs, tz, t)
			if err != nil {
				return err
			}
			if n < 1 {
				return fmt.Errorf("-n must be at least 1, got %d", n)
			}
			var slots []slot
			for i := 0; i < n; i++ {
				t = s.Next(t)
				if t.IsZero() {
					break
				}
				slots = append(slots, slot{Time: t.In(s.Location()), UTC: t.UTC(), DST: s.DSTNote(t)})
			}
			if len(slots) == 0 {
				return fmt.Errorf("no more slots within 5 years")
			}
			switch output {
			case "":
				if isTerminal(cmd.OutOrStdout()) {
					return printSlotTable(cmd.OutOrStdout(), s.Location(), slots, now, showIn)
				}
				printSlotLines(cmd.OutOrStdout(), cmd.ErrOrStderr(), slots)
			case "plain":
				printSlotLines(cmd.OutOrStdout(), cmd.ErrOrStderr(), slots)
			case "table":
				return printSlotTable(cmd.OutOrStdout(), s.Location(), slots, now, showIn)
			case "json":
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(slots)
			default:
				return fmt.Errorf("invalid --output %q: use table, plain or json", output)
			}
			return nil
		},
	}
	next.Flags().StringArrayVar(&exprs, "cron", nil, "cron expression or @-macro (repeatable: the slots of all are merged)")
	next.Flags().StringVarP(&file, "file", "f", "", "read the schedules and time zone from an mlpipe.yaml or a PipelineSchedule manifest")
	next.Flags().StringVar(&tz, "time-zone", "UTC", "IANA time zone the expressions are read in")
	next.Flags().StringVar(&from, "from", "", "start after this RFC 3339 time (default: now)")
	next.Flags().IntVarP(&n, "number", "n", 5, "how many slots to print")
	next.Flags().StringVarP(&output, "output", "o", "", "table, plain (one RFC 3339 time a line) or json (default: table on a terminal, plain otherwise)")
	sched.AddCommand(next)
	topLevel.AddCommand(sched)
}

// slot is one printed slot.
type slot struct {
	Time time.Time `json:"time"`
	UTC  time.Time `json:"utc"`
	DST  string    `json:"dst,omitempty"`
}

func printSlotLines(out, errOut io.Writer, slots []slot) {
	for _, s := range slots {
		fmt.Fprintln(out, s.Time.Format(time.RFC3339))
		if s.DST != "" {
			fmt.Fprintf(errOut, "DST: %s\n", s.DST)
		}
	}
}

// printSlotTable prints the slots as a table; the IN column (time from now) only when counting from now.
func printSlotTable(out io.Writer, loc *time.Location, slots []slot, now time.Time, showIn bool) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	in := func(t time.Time) string {
		if showIn {
			return until(now, t) + "\t"
		}
		return ""
	}
	head := "IN\t"
	if !showIn {
		head = ""
	}
	// The UTC column only when the slots are in another zone: in UTC it would repeat the SLOT column.
	utc := func(s slot) string {
		if loc.String() == "UTC" {
			return ""
		}
		return s.UTC.Format("2006-01-02 15:04") + "\t"
	}
	utcHead := "UTC\t"
	if loc.String() == "UTC" {
		utcHead = ""
	}
	fmt.Fprintf(w, "#\tSLOT (%s)\t%s%sDST\n", loc, utcHead, head)
	for i, s := range slots {
		fmt.Fprintf(w, "%d\t%s\t%s%s%s\n", i+1, s.Time.Format("Mon 2006-01-02 15:04 MST"), utc(s), in(s.Time), s.DST)
	}
	return w.Flush()
}

// until says how far t is from now, coarsely ("3d 4h", "25m", "past").
func until(now, t time.Time) string {
	d := t.Sub(now)
	switch {
	case d < 0:
		return "past"
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh %dm", int(d.Hours()), int(d.Minutes())%60)
	default:
		return fmt.Sprintf("%dd %dh", int(d.Hours())/24, int(d.Hours())%24)
	}
}

// schedulesFromFile reads the cron expressions and time zone of an mlpipe.yaml (triggers.schedule) or of a
// PipelineSchedule manifest.
func schedulesFromFile(path string) ([]string, string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", err
	}
	var head struct {
		Kind string `json:"kind"`
	}
	if err := yaml.Unmarshal(data, &head); err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	switch head.Kind {
	case "MLPipeline":
		p, err := spec.Load(path, data)
		if err != nil {
			return nil, "", err
		}
		if p.Spec.Triggers == nil || p.Spec.Triggers.Schedule == nil {
			return nil, "", fmt.Errorf("%s: spec.triggers.schedule is not set: the pipeline has no schedule", path)
		}
		return []string{p.Spec.Triggers.Schedule.Cron}, p.Spec.Triggers.Schedule.TimeZone, nil
	case "PipelineSchedule":
		var ps v1alpha1.PipelineSchedule
		if err := yaml.UnmarshalStrict(data, &ps); err != nil {
			return nil, "", fmt.Errorf("%s: %w", path, err)
		}
		var exprs []string
		if ps.Spec.Schedule != "" {
			exprs = append(exprs, ps.Spec.Schedule)
		}
		exprs = append(exprs, ps.Spec.Schedules...)
		return exprs, ps.Spec.TimeZone, nil
	default:
		return nil, "", fmt.Errorf("%s: kind %q holds no schedule: use an mlpipe.yaml (kind MLPipeline) or a PipelineSchedule", path, head.Kind)
	}
}
