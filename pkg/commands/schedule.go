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
	"fmt"
	"time"

	"github.com/mlpipe/mlpipe/pkg/cron"
	"github.com/spf13/cobra"
)

func addSchedule(topLevel *cobra.Command) {
	sched := &cobra.Command{
		Use:   "schedule",
		Short: "Check cron schedules before you apply them",
	}
	var (
		exprs []string
		tz    string
		from  string
		n     int
	)
	next := &cobra.Command{
		Use:   "next",
		Short: "Print the next N slot times of a schedule, one RFC 3339 timestamp a line (DST notes on stderr)",
		Example: `  mlpipe schedule next --cron "0 2 * * 1" --time-zone Europe/Berlin -n 5
  mlpipe schedule next --cron "30 2 * * *" --time-zone Europe/Berlin --from 2026-03-27T00:00:00Z -n 3`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := cron.Parse(exprs, tz)
			if err != nil {
				return err
			}
			if n < 1 {
				return fmt.Errorf("-n must be at least 1, got %d", n)
			}
			t := time.Now()
			if from != "" {
				if t, err = time.Parse(time.RFC3339, from); err != nil {
					return fmt.Errorf("invalid --from %q: use RFC 3339, e.g. 2026-03-27T00:00:00Z", from)
				}
			}
			for i := 0; i < n; i++ {
				t = s.Next(t)
				if t.IsZero() {
					return fmt.Errorf("no more slots within 5 years")
				}
				fmt.Fprintln(cmd.OutOrStdout(), t.In(s.Location()).Format(time.RFC3339))
				if note := s.DSTNote(t); note != "" {
					fmt.Fprintf(cmd.ErrOrStderr(), "DST: %s\n", note)
				}
			}
			return nil
		},
	}
	next.Flags().StringArrayVar(&exprs, "cron", nil, "cron expression or @-macro (repeatable: the slots of all are merged)")
	next.Flags().StringVar(&tz, "time-zone", "UTC", "IANA time zone the expressions are read in")
	next.Flags().StringVar(&from, "from", "", "start after this RFC 3339 time (default: now)")
	next.Flags().IntVarP(&n, "number", "n", 5, "how many slots to print")
	_ = next.MarkFlagRequired("cron")
	sched.AddCommand(next)
	topLevel.AddCommand(sched)
}
