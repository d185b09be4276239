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

package steps

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mlpipe/mlpipe/pkg/gate"
	"github.com/mlpipe/mlpipe/pkg/runnerenv"
)

// EnvAlertWebhookURL names the environment variable holding the webhook URL (mounted from a Secret, never a param).
const EnvAlertWebhookURL = "ALERT_WEBHOOK_URL"

// AlertOptions are the flags of `step alert`.
type AlertOptions struct {
	// Status is the pipeline's aggregate status ($(tasks.status)): Succeeded, Failed, Completed or None.
	Status string
	// PipelineRun is the PipelineRun's name.
	PipelineRun string
	// Metric, Threshold, Value and Passed describe the evaluation gate.
	Metric string
	// Threshold is the gate's threshold.
	Threshold string
	// Value is the metric's value.
	Value string
	// Passed is the gate's outcome ("true"/"false", empty when evaluate did not run).
	Passed string
	// DataDigest is the digest of the training data.
	DataDigest string
	// FailedTasks is a comma-separated list of failed task names.
	FailedTasks string
	// TaskStatuses are name=Status pairs ($(tasks.<t>.status)); the Failed ones join FailedTasks.
	TaskStatuses []string
	// MetricsFile is the evaluate step's metrics.json; when it exists it fills Value, Passed and DataDigest.
	MetricsFile string
	// ErrorsDir holds <task>.txt, the error a failed built-in step wrote ($MLPIPE_ERROR_FILE); the alert
	// quotes the error of every failed task found there.
	ErrorsDir string
	// Retries is the number of retries after the first attempt.
	Retries int
	// Backoff is the delay before the first retry; it doubles after each retry.
	Backoff time.Duration
	// Timeout bounds each attempt.
	Timeout time.Duration
	// WebhookURL overrides ALERT_WEBHOOK_URL (for tests; not a flag).
	WebhookURL string
	// ResultsDir receives the result "delivered".
	ResultsDir string
}

// AlertMessage is the JSON body POSTed to the webhook: Slack-compatible `text` plus structured fields.
type AlertMessage struct {
	// Text is the human-readable summary (what Slack shows).
	Text string `json:"text"`
	// Status is the pipeline's aggregate status.
	Status string `json:"status"`
	// PipelineRun is the PipelineRun's name.
	PipelineRun string `json:"pipelineRun"`
	// Metric is the gate metric.
	Metric string `json:"metric,omitempty"`
	// Threshold is the gate threshold.
	Threshold string `json:"threshold,omitempty"`
	// Value is the metric value.
	Value string `json:"value,omitempty"`
	// Passed is the gate outcome.
	Passed *bool `json:"passed,omitempty"`
	// GateReasons says why the gate did not pass, one sentence per failed test (threshold, champion), from
	// the evaluate step's metrics.json.
	GateReasons []string `json:"gateReasons,omitempty"`
	// DataDigest is the digest of the training data.
	DataDigest string `json:"dataDigest,omitempty"`
	// FailedTasks are the failed tasks.
	FailedTasks []string `json:"failedTasks"`
	// Errors are the failed tasks' own error messages, where they wrote one.
	Errors map[string]string `json:"errors,omitempty"`
}

func newAlertCommand() *cobra.Command {
	o := &AlertOptions{}
	cmd := &cobra.Command{
		Use:   "alert",
		Short: "Send a pipeline alert to the webhook in $ALERT_WEBHOOK_URL",
		Long: "POSTs a JSON message (Slack-compatible `text` plus structured fields) to the URL in the environment\n" +
			"variable ALERT_WEBHOOK_URL, retrying with exponential backoff on network errors, 429 and 5xx.\n" +
			"A message that cannot be delivered fails the step. Under `mlpipe run` with no webhook configured\n" +
			"($" + runnerenv.AlertPreviewFile + " set by the runner), it prints the message instead and writes delivered=false.",
		Args: cobra.NoArgs,
	}
	cmd.Flags().StringVar(&o.Status, "status", "", "aggregate pipeline status ($(tasks.status))")
	cmd.Flags().StringVar(&o.PipelineRun, "pipeline-run", "", "PipelineRun name")
	cmd.Flags().StringVar(&o.Metric, "metric", "", "gate metric")
	cmd.Flags().StringVar(&o.Threshold, "threshold", "", "gate threshold")
	cmd.Flags().StringVar(&o.Value, "value", "", "metric value")
	cmd.Flags().StringVar(&o.Passed, "passed", "", "gate outcome: true or false")
	cmd.Flags().StringVar(&o.DataDigest, "data-digest", "", "digest of the training data")
	cmd.Flags().StringVar(&o.FailedTasks, "failed-tasks", "", "comma-separated failed task names")
	cmd.Flags().StringArrayVar(&o.TaskStatuses, "task-status", nil, "status of one task as name=Status, e.g. train=Failed (repeatable)")
	cmd.Flags().StringVar(&o.MetricsFile, "metrics-file", "", "metrics.json of the evaluate step; read for the metric value and gate outcome when it exists")
	cmd.Flags().StringVar(&o.ErrorsDir, "errors-dir", "", "folder of <task>.txt files holding failed tasks' errors; each failed task's is quoted")
	cmd.Flags().IntVar(&o.Retries, "retries", 4, "retries after the first attempt")
	cmd.Flags().DurationVar(&o.Backoff, "backoff", time.Second, "delay before the first retry (doubles each retry)")
	cmd.Flags().DurationVar(&o.Timeout, "timeout", 10*time.Second, "timeout of each attempt")
	addResultsDirFlag(cmd, &o.ResultsDir)
	cmd.RunE = runE([]string{"status", "pipeline-run"}, func(cmd *cobra.Command) error {
		if preview := os.Getenv(runnerenv.AlertPreviewFile); preview != "" && o.WebhookURL == "" && os.Getenv(EnvAlertWebhookURL) == "" {
			if err := PreviewAlert(o, preview, cmd.OutOrStdout()); err != nil {
				return err
			}
			return writeResults(o.ResultsDir, result{"delivered", "false"})
		}
		if err := Alert(cmd.Context(), o, cmd.ErrOrStderr()); err != nil {
			return err
		}
		return writeResults(o.ResultsDir, result{"delivered", "true"})
	})
	return cmd
}

// BuildAlert builds the message for the options.
func BuildAlert(o *AlertOptions) (*AlertMessage, error) {
	m := &AlertMessage{
		Status: o.Status, PipelineRun: o.PipelineRun, Metric: o.Metric, Threshold: o.Threshold, Value: o.Value,
		DataDigest: o.DataDigest, FailedTasks: []string{},
	}
	for _, t := range strings.Split(o.FailedTasks, ",") {
		if t = strings.TrimSpace(t); t != "" {
			m.FailedTasks = append(m.FailedTasks, t)
		}
	}
	for _, ts := range o.TaskStatuses {
		name, status, ok := strings.Cut(ts, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("invalid --task-status %q: want name=Status", ts)
		}
		if status == "Failed" && !slices.Contains(m.FailedTasks, name) {
			m.FailedTasks = append(m.FailedTasks, name)
		}
	}
	if err := readAlertMetrics(o, m); err != nil {
		return nil, err
	}
	m.Errors = readTaskErrors(o.ErrorsDir, m.FailedTasks)
	switch o.Passed {
	case "":
	case "true", "false":
		p := o.Passed == "true"
		m.Passed = &p
	default:
		return nil, fmt.Errorf("invalid --passed %q: want true or false", o.Passed)
	}
	m.Value, m.Metric = o.Value, o.Metric
	var b strings.Builder
	fmt.Fprintf(&b, "mlpipe: PipelineRun %s finished with status %s", o.PipelineRun, o.Status)
	if len(m.FailedTasks) > 0 {
		fmt.Fprintf(&b, "; failed tasks: %s", strings.Join(m.FailedTasks, ", "))
	}
	for _, task := range m.FailedTasks {
		if msg, ok := m.Errors[task]; ok {
			fmt.Fprintf(&b, "; %s: %q", task, msg)
		}
	}
	if m.Passed != nil && o.Metric != "" {
		verdict := "passed"
		if !*m.Passed {
			verdict = "did not pass"
		}
		fmt.Fprintf(&b, "; evaluation gate %s (%s = %s, threshold %s)", verdict, o.Metric, shownMetric(o.Value), o.Threshold)
		if !*m.Passed && len(m.GateReasons) > 0 {
			fmt.Fprintf(&b, ": %s", strings.Join(m.GateReasons, "; "))
		}
	}
	if o.DataDigest != "" {
		fmt.Fprintf(&b, "; data %s", o.DataDigest)
	}
	m.Text = b.String()
	return m, nil
}

// shownMetric is a metric value as the alert's text shows it (gate.FormatMetric); the message's value field keeps
// it as given. A value that is not a number is shown as it is.
func shownMetric(v string) string {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil {
		return v
	}
	return gate.FormatMetric(f)
}

// maxQuotedError bounds each error quoted in an alert (a chat message, not a log).
const maxQuotedError = 500

// readTaskErrors reads dir/<task>.txt of each failed task; missing files (a user step that wrote none, or no
// workspace) are left out.
func readTaskErrors(dir string, failed []string) map[string]string {
	if dir == "" {
		return nil
	}
	var out map[string]string
	for _, task := range failed {
		data, err := os.ReadFile(filepath.Join(dir, task+".txt"))
		if err != nil {
			continue
		}
		msg := strings.TrimSpace(string(data))
		if len(msg) > maxQuotedError {
			msg = msg[:maxQuotedError] + "…"
		}
		if out == nil {
			out = map[string]string{}
		}
		out[task] = msg
	}
	return out
}

// readAlertMetrics fills the gate fields the flags left empty from --metrics-file. A missing
// file is normal (evaluate failed or never ran); an unreadable one is reported.
func readAlertMetrics(o *AlertOptions, m *AlertMessage) error {
	if o.MetricsFile == "" {
		return nil
	}
	data, err := os.ReadFile(o.MetricsFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("error reading --metrics-file: %w", err)
	}
	var r Report
	if err := json.Unmarshal(data, &r); err != nil {
		return fmt.Errorf("--metrics-file %s is not an evaluate report: %w", o.MetricsFile, err)
	}
	if o.Value == "" && r.Gate.Metric != "" {
		o.Value = gate.Format(r.Gate.Value)
	}
	if o.Passed == "" && r.Gate.Metric != "" {
		o.Passed = strconv.FormatBool(r.Gate.Passed)
	}
	if o.Metric == "" {
		o.Metric = r.Gate.Metric
	}
	m.GateReasons = r.Gate.Reasons
	return nil
}

// PreviewAlert is the alert step of a local run with no webhook configured (runnerenv.AlertPreviewFile set by
// `mlpipe run`): it prints the message it would have sent to log and writes its text to path, for the runner to
// show; nothing is sent and it is not a failure.
func PreviewAlert(o *AlertOptions, path string, log io.Writer) error {
	msg, err := BuildAlert(o)
	if err != nil {
		return err
	}
	fmt.Fprintf(log, "alert not sent: no webhook configured on this machine; the message would be:\n%s\n", msg.Text)
	if err := os.WriteFile(path, []byte(msg.Text+"\n"), 0o644); err != nil {
		return fmt.Errorf("error writing the alert message to %s: %w", runnerenv.AlertPreviewFile, err)
	}
	return nil
}

// Alert runs the alert step.
func Alert(ctx context.Context, o *AlertOptions, log io.Writer) error {
	target := o.WebhookURL
	if target == "" {
		target = os.Getenv(EnvAlertWebhookURL)
	}
	if target == "" {
		return fmt.Errorf("%s is not set: the alert step reads the webhook URL from the environment (a Secret), never from a flag", EnvAlertWebhookURL)
	}
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// The URL is a secret: never print it.
		return fmt.Errorf("%s is not an http(s) URL", EnvAlertWebhookURL)
	}
	msg, err := BuildAlert(o)
	if err != nil {
		return err
	}
	body, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	client := &http.Client{Timeout: timeout}
	delay := o.Backoff
	var lastErr error
	for attempt := 0; attempt <= o.Retries; attempt++ {
		if attempt > 0 {
			fmt.Fprintf(log, "alert delivery attempt %d failed: %v; retrying in %s\n", attempt, lastErr, delay)
			select {
			case <-ctx.Done():
				return fmt.Errorf("alert not delivered: %w (last error: %v)", ctx.Err(), lastErr)
			case <-time.After(delay):
			}
			delay *= 2
		}
		retry, err := postOnce(ctx, client, u.String(), body)
		if err == nil {
			fmt.Fprintf(log, "alert delivered to %s://%s\n", u.Scheme, u.Host)
			return nil
		}
		lastErr = err
		if !retry {
			break
		}
	}
	return fmt.Errorf("alert not delivered to %s://%s: %w", u.Scheme, u.Host, lastErr)
}

// postOnce POSTs body once; it reports whether a failure is worth retrying.
func postOnce(ctx context.Context, client *http.Client, target string, body []byte) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // drop the URL (a secret) from the message
		}
		return true, err
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return false, nil
	}
	err = fmt.Errorf("webhook answered %s: %s", resp.Status, strings.TrimSpace(string(snippet)))
	return resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 || resp.StatusCode == http.StatusRequestTimeout, err
}
