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

	"github.com/mlpipe/mlpipe/pkg/events"
	"github.com/spf13/cobra"
)

// maxEventBytes bounds what `mlpipe events decode` reads.
const maxEventBytes = 16 << 20

func addEvents(topLevel *cobra.Command) {
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Debug S3 and MinIO bucket notifications",
	}
	decode := &cobra.Command{
		Use:   "decode [FILE|-]",
		Short: "Print the objects of an S3/MinIO notification as mlpipe sees them (JSON array); fail on anything else",
		Long: `decode reads one notification body (AWS S3 or MinIO; "-" or no argument reads stdin) and prints the
normalised objects it names as a JSON array: bucket, key (URL-decoded), uri, size, etag, versionId, sequencer,
eventName, eventTime and dedupKey, the identity that makes a duplicate delivery start no second run. An
s3:TestEvent prints []. A body that is not a notification exits with status 1 and the reason.`,
		Example: `  mlpipe events decode notification.json
  curl ... | mlpipe events decode -`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := "-"
			if len(args) == 1 {
				name = args[0]
			}
			var r io.Reader = cmd.InOrStdin()
			if name != "-" {
				f, err := os.Open(name)
				if err != nil {
					return err
				}
				defer f.Close()
				r = f
			}
			data, err := io.ReadAll(io.LimitReader(r, maxEventBytes+1))
			if err != nil {
				return fmt.Errorf("error reading %s: %w", name, err)
			}
			if len(data) > maxEventBytes {
				return fmt.Errorf("%s: larger than %d bytes: not a notification", name, maxEventBytes)
			}
			n, err := events.Decode(data)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			if n.SubscribeURL != "" {
				fmt.Fprintf(cmd.ErrOrStderr(), "SNS subscription confirmation for topic %s: confirm it by visiting %s\n", n.TopicArn, n.SubscribeURL)
			} else if n.Test {
				fmt.Fprintln(cmd.ErrOrStderr(), "test event: acknowledged, starts nothing")
			}
			objs := n.Objects
			if objs == nil {
				objs = []events.Object{}
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			enc.SetEscapeHTML(false)
			return enc.Encode(objs)
		},
	}
	cmd.AddCommand(decode)
	topLevel.AddCommand(cmd)
}
