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

package spec

import (
	"fmt"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	schedcron "github.com/mlpipe/mlpipe/pkg/cron"
	"github.com/mlpipe/mlpipe/pkg/dataopts"
	"github.com/mlpipe/mlpipe/pkg/gate"
	"github.com/mlpipe/mlpipe/pkg/suggest"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
)

// MaxNameLength keeps generated names (<name>-preprocess, <name>-run-xxxxx) within 63 characters.
const MaxNameLength = 40

// Metrics are the gate metrics the evaluate step computes.
var Metrics = []string{"accuracy", "precision", "recall", "f1", "log-loss"}

// Operators compare the gate metric to the threshold.
var Operators = []string{">=", ">", "<=", "<"}

// ConcurrencyPolicies says what a new trigger does while a run is active.
var ConcurrencyPolicies = []string{"Allow", "Forbid", "Replace"}

// S3Events are the notification event names a trigger may filter on.
var S3Events = []string{
	"s3:ObjectCreated:*", "s3:ObjectCreated:Put", "s3:ObjectCreated:Post", "s3:ObjectCreated:Copy",
	"s3:ObjectCreated:CompleteMultipartUpload",
}

var (
	paramName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_.-]*$`)
	envName   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	secretKey = regexp.MustCompile(`^[-._a-zA-Z0-9]+$`)
	bucket    = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
)

type checker struct {
	p    *MLPipeline
	errs ErrorList
}

func (c *checker) add(field, format string, args ...any) {
	c.errs = append(c.errs, &Error{File: c.p.File, Pos: c.p.PositionOf(field), Field: field, Msg: fmt.Sprintf(format, args...)})
}

func oneOf(v string, allowed []string) bool {
	for _, a := range allowed {
		if v == a {
			return true
		}
	}
	return false
}

func quoteAll(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = strconv.Quote(v)
	}
	return strings.Join(q, ", ")
}

// validate returns every semantic problem of a decoded, defaulted spec.
func (p *MLPipeline) validate() ErrorList {
	c := &checker{p: p}
	if p.APIVersion != APIVersion {
		c.add("apiVersion", "must be %q, got %q", APIVersion, p.APIVersion)
	}
	if p.Kind != Kind {
		c.add("kind", "must be %q, got %q", Kind, p.Kind)
	}
	c.name("metadata.name", p.Metadata.Name, MaxNameLength, true)
	if p.Metadata.Namespace != "" {
		c.name("metadata.namespace", p.Metadata.Namespace, 63, false)
	}
	s := &p.Spec
	c.data(&s.Data)
	if s.Storage != nil && s.Storage.Endpoint != "" {
		if u, err := url.Parse(s.Storage.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			c.add("spec.storage.endpoint", "must be an http:// or https:// URL, got %q", s.Storage.Endpoint)
		}
	}
	if s.Storage != nil && s.Storage.SecretName != "" {
		c.subdomain("spec.storage.secretName", s.Storage.SecretName)
	}
	for _, k := range sortedKeys(s.Params) {
		c.param(joinKey("spec.params", k), k, s.Params[k])
	}
	for _, name := range StepNames {
		c.step(name, s.Steps.StepByName(name))
	}
	if r := s.Register; r != nil {
		c.uri("spec.register.store", r.Store, true)
		c.name("spec.register.modelName", r.ModelName, 63, false)
	}
	if d := s.Deploy; d != nil {
		c.deploy(d)
		if s.Register == nil {
			c.add("spec.deploy", "needs spec.register: deploy serves the registered model version")
		}
	}
	if a := s.Alert; a != nil {
		if a.Webhook == nil || a.Webhook.SecretRef == nil {
			c.add("spec.alert.webhook.secretRef", "required: the Secret key holding the webhook URL")
		} else {
			ref := a.Webhook.SecretRef
			c.subdomain("spec.alert.webhook.secretRef.name", ref.Name)
			if ref.Key == "" || !secretKey.MatchString(ref.Key) {
				c.add("spec.alert.webhook.secretRef.key", "must be a Secret key (letters, digits, '-', '_', '.'), got %q", ref.Key)
			}
		}
	}
	if cc := s.Cache; cc != nil {
		if cc.Store != "" {
			c.uri("spec.cache.store", cc.Store, false)
		}
		if cc.MaxAge != "" {
			if d, err := time.ParseDuration(cc.MaxAge); err != nil || d <= 0 {
				c.add("spec.cache.maxAge", "must be a positive duration such as 720h, got %q", cc.MaxAge)
			}
		}
	}
	if s.Workspace != nil {
		if _, err := resource.ParseQuantity(s.Workspace.Size); err != nil {
			c.add("spec.workspace.size", "must be a quantity such as 1Gi, got %q", s.Workspace.Size)
		}
	}
	if t := s.Triggers; t != nil {
		c.schedule(t.Schedule)
		c.s3(t.S3)
	}
	return c.errs
}

// deploy checks spec.deploy: exactly one target, and that target's fields.
func (c *checker) deploy(d *Deploy) {
	switch {
	case d.KServe == nil && d.Kubernetes == nil:
		c.add("spec.deploy", "required: one target, kserve (a KServe InferenceService) or kubernetes (a Deployment and a Service, no KServe needed)")
	case d.KServe != nil && d.Kubernetes != nil:
		c.add("spec.deploy.kubernetes", "kserve and kubernetes are mutually exclusive: choose one deploy target")
	}
	if ks := d.KServe; ks != nil {
		c.name("spec.deploy.kserve.name", ks.Name, 45, true)
		if ks.Namespace != "" {
			c.name("spec.deploy.kserve.namespace", ks.Namespace, 63, false)
		}
		if pc := ks.CanaryTrafficPercent; pc != nil && (*pc < 0 || *pc > 100) {
			c.add("spec.deploy.kserve.canaryTrafficPercent", "must be between 0 and 100, got %d", *pc)
		}
	}
	if k := d.Kubernetes; k != nil {
		const base = "spec.deploy.kubernetes"
		// The Service is named after it: an RFC 1035 label (it starts with a letter).
		c.name(base+".name", k.Name, 63, true)
		if k.Name != "" && len(k.Name) <= 63 && len(validation.IsDNS1123Label(k.Name)) == 0 {
			if errs := validation.IsDNS1035Label(k.Name); len(errs) > 0 {
				c.add(base+".name", "invalid name %q: the Service is named after it: %s", k.Name, short(errs[0]))
			}
		}
		if k.Namespace != "" {
			c.name(base+".namespace", k.Namespace, 63, false)
		}
		if r := *k.Replicas; r < 1 || r > math.MaxInt32 {
			c.add(base+".replicas", "must be between 1 and %d, got %d", math.MaxInt32, r)
		}
		if k.Resources != nil {
			c.resources(base+".resources", k.Resources)
		}
	}
}

func (c *checker) name(field, v string, max int, required bool) {
	if v == "" {
		if required {
			c.add(field, "required")
		}
		return
	}
	if len(v) > max {
		c.add(field, "must be at most %d characters, got %d", max, len(v))
		return
	}
	if errs := validation.IsDNS1123Label(v); len(errs) > 0 {
		c.add(field, "invalid name %q: %s", v, short(errs[0]))
	}
}

// short drops the example and regex apimachinery appends to a name error.
func short(msg string) string {
	if i := strings.Index(msg, " (e.g."); i > 0 {
		return msg[:i]
	}
	return msg
}

func (c *checker) subdomain(field, v string) {
	if v == "" {
		c.add(field, "required")
		return
	}
	if errs := validation.IsDNS1123Subdomain(v); len(errs) > 0 {
		c.add(field, "invalid name %q: %s", v, short(errs[0]))
	}
}

// uri checks a data or store URI; allowPlain admits a plain path (local runs only: clusterWarnings says so).
func (c *checker) uri(field, v string, allowPlain bool) {
	u, err := url.Parse(v)
	switch {
	case err != nil:
		c.add(field, "invalid URI %q: %v", v, err)
	case u.Scheme == "s3":
		if u.Host == "" || !bucket.MatchString(u.Host) {
			c.add(field, "s3 URI %q needs a valid bucket name (3-63 lowercase letters, digits, '.', '-')", v)
		}
	case u.Scheme == "file":
		if u.Host != "" || !strings.HasPrefix(u.Path, "/") {
			c.add(field, "file URI %q must be absolute: file:///path", v)
		}
	case u.Scheme == "" && allowPlain:
		// a path relative to mlpipe.yaml or absolute: local runs only
	default:
		c.add(field, "unsupported URI scheme %q in %q: use file:// or s3://", u.Scheme, v)
	}
}

func (c *checker) data(d *Data) {
	if d.URI == "" {
		c.add("spec.data.uri", "required: the training CSV (file:///path, s3://bucket/key or a path)")
	} else {
		c.uri("spec.data.uri", d.URI, true)
	}
	if strings.TrimSpace(d.Label) == "" {
		c.add("spec.data.label", "required: the name of the target column")
	}
	if f := *d.TestFraction; f <= 0 || f >= 1 {
		c.add("spec.data.testFraction", "must be between 0 and 1 (exclusive), got %v", f)
	}
	if *d.Seed < 0 {
		c.add("spec.data.seed", "must not be negative, got %d", *d.Seed)
	}
	seen := map[string]bool{}
	for i, col := range d.Exclude {
		field := fmt.Sprintf("spec.data.exclude[%d]", i)
		switch {
		case strings.TrimSpace(col) == "":
			c.add(field, "empty column name")
		case col == d.Label:
			c.add(field, "%q is the label column (spec.data.label): it cannot be excluded", col)
		case seen[col]:
			c.add(field, "column %q is listed twice", col)
		}
		seen[col] = true
	}
	if _, err := dataopts.ParseDelimiter(d.Delimiter); err != nil {
		c.add("spec.data.delimiter", "%v%s", err, suggest.Hint(d.Delimiter, dataopts.Delimiters))
	}
	if err := dataopts.CheckMissing(d.Missing); err != nil {
		c.add("spec.data.missing", "%v%s", err, suggest.Hint(d.Missing, dataopts.MissingPolicies))
	}
}

// reservedParams are pipeline params the generator wires itself.
var reservedParams = []string{"data-uri", "label", "test-fraction", "seed", "exclude", "delimiter", "missing", "metric", "operator", "threshold", "min-delta", "model-name", "store", "model-store"}

func (c *checker) param(field, name, value string) {
	if !paramName.MatchString(name) {
		c.add(field, "invalid param name %q: use letters, digits, '-', '_' and '.', starting with a letter or '_'", name)
		return
	}
	if oneOf(name, reservedParams) {
		c.add(field, "param %q is set from the spec itself; remove it from spec.params", name)
		return
	}
	switch name {
	case "epochs", "batch-size":
		if n, err := strconv.Atoi(value); err != nil || n <= 0 {
			c.add(field, "must be a positive integer, got %q", value)
		}
	case "learning-rate":
		if f, err := strconv.ParseFloat(value, 64); err != nil || f <= 0 {
			c.add(field, "must be a positive number, got %q", value)
		}
	case "l2":
		if f, err := strconv.ParseFloat(value, 64); err != nil || f < 0 {
			c.add(field, "must be a number >= 0, got %q", value)
		}
	}
}

func (c *checker) step(name string, st *Step) {
	if st == nil {
		return
	}
	base := "spec.steps." + name
	if name != "evaluate" {
		for _, f := range []struct {
			set  bool
			name string
		}{{st.Metric != "", "metric"}, {st.Operator != "", "operator"}, {st.Threshold != nil, "threshold"}, {st.MinDelta != nil, "minDelta"}} {
			if f.set {
				c.add(base+"."+f.name, "only valid on spec.steps.evaluate (the gate)")
			}
		}
	} else {
		if !oneOf(st.Metric, Metrics) {
			c.add(base+".metric", "unknown metric %q: use one of %s%s", st.Metric, quoteAll(Metrics), suggest.Hint(st.Metric, Metrics))
		}
		if !oneOf(st.Operator, Operators) {
			c.add(base+".operator", "unknown operator %q: use one of %s", st.Operator, quoteAll(Operators))
		} else if err := gate.CheckDirection(st.Metric, st.Operator); err != nil && oneOf(st.Metric, Metrics) {
			c.add(base+".operator", "%v", err)
		}
		t := *st.Threshold
		switch {
		case !oneOf(st.Metric, Metrics):
			// the unknown metric is already reported; its range is unknown
		case st.Metric != "log-loss" && (t < 0 || t > 1):
			c.add(base+".threshold", "%s is between 0 and 1, got %v", st.Metric, t)
		case t < 0:
			c.add(base+".threshold", "must not be negative, got %v", t)
		}
		if *st.MinDelta < 0 {
			c.add(base+".minDelta", "must not be negative, got %v", *st.MinDelta)
		}
	}
	if st.Script != "" {
		switch {
		case len(st.Command) > 0:
			c.add(base+".script", "script and command are mutually exclusive")
		case st.Image == "":
			c.add(base+".image", "required with script: an image that has the script's interpreter")
		}
		c.resolveScript(base+".script", st)
	}
	if len(st.Args) > 0 && len(st.Command) == 0 && st.Script == "" && st.Image == "" {
		c.add(base+".args", "args need command or image")
	}
	for _, k := range sortedKeys(st.Env) {
		if !envName.MatchString(k) {
			c.add(joinKey(base+".env", k), "invalid environment variable name %q", k)
		}
	}
	if r := st.Resources; r != nil {
		c.resources(base+".resources", r)
	}
	if st.Timeout != "" {
		if d, err := time.ParseDuration(st.Timeout); err != nil {
			c.add(base+".timeout", "invalid duration %q: use a Go duration such as 90m or 2h", st.Timeout)
		} else if d <= 0 {
			c.add(base+".timeout", "must be positive, got %q", st.Timeout)
		}
	}
	if st.Retries < 0 || st.Retries > 10 {
		c.add(base+".retries", "must be between 0 and 10, got %d", st.Retries)
	}
}

// resolveScript sets ScriptText: inline text when the value has a newline or a
// space, otherwise the content of the file it names (relative to mlpipe.yaml).
func (c *checker) resolveScript(field string, st *Step) {
	if strings.ContainsAny(st.Script, "\n ") {
		st.ScriptText = st.Script
		return
	}
	path := st.Script
	if !filepath.IsAbs(path) {
		path = filepath.Join(c.p.Dir, path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		c.add(field, "cannot read script file %q: %v", st.Script, unwrapPathError(err))
		return
	}
	if len(data) == 0 {
		c.add(field, "script file %q is empty", st.Script)
		return
	}
	st.ScriptText = string(data)
}

func unwrapPathError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

func (c *checker) resources(field string, r *Resources) {
	parsed := map[string]resource.Quantity{}
	for _, part := range []struct {
		name string
		m    map[string]string
	}{{"requests", r.Requests}, {"limits", r.Limits}} {
		for _, k := range sortedKeys(part.m) {
			f := joinKey(field+"."+part.name, k)
			if errs := validation.IsQualifiedName(k); len(errs) > 0 {
				c.add(f, "invalid resource name %q: %s", k, errs[0])
				continue
			}
			q, err := resource.ParseQuantity(part.m[k])
			if err != nil {
				c.add(f, "invalid quantity %q: use forms like 500m, 2, 4Gi", part.m[k])
				continue
			}
			if q.Sign() < 0 {
				c.add(f, "must not be negative, got %q", part.m[k])
				continue
			}
			if part.name == "requests" {
				parsed[k] = q
			} else if req, ok := parsed[k]; ok && req.Cmp(q) > 0 {
				c.add(f, "limit %s is below the request %s", q.String(), req.String())
			}
		}
	}
}

func (c *checker) schedule(s *Schedule) {
	if s == nil {
		return
	}
	const base = "spec.triggers.schedule"
	if s.Cron == "" {
		c.add(base+".cron", "required: a 5-field cron expression or an @-macro such as @daily")
	} else if _, err := schedcron.Parse([]string{s.Cron}, "UTC", time.Now()); err != nil {
		// The controller's own parser: what validates here is what fires there. The spec is
		// checked at generate time, on the wall clock; the PipelineSchedule it becomes is
		// checked again where it is applied (admission webhook, reconciler) on their clocks.
		c.add(base+".cron", "%v", err)
	}
	if _, err := time.LoadLocation(s.TimeZone); err != nil || s.TimeZone == "Local" {
		c.add(base+".timeZone", "unknown time zone %q: use an IANA name such as Europe/Berlin", s.TimeZone)
	}
	if !oneOf(s.ConcurrencyPolicy, ConcurrencyPolicies) {
		c.add(base+".concurrencyPolicy", "must be one of %s, got %q%s", quoteAll(ConcurrencyPolicies), s.ConcurrencyPolicy, suggest.Hint(s.ConcurrencyPolicy, ConcurrencyPolicies))
	}
	if d := s.StartingDeadlineSeconds; d != nil && *d < 0 {
		c.add(base+".startingDeadlineSeconds", "must not be negative, got %d", *d)
	}
}

func (c *checker) s3(t *S3Trigger) {
	if t == nil {
		return
	}
	const base = "spec.triggers.s3"
	if !bucket.MatchString(t.Bucket) || strings.Contains(t.Bucket, "..") {
		c.add(base+".bucket", "invalid bucket name %q: 3-63 lowercase letters, digits, '.' and '-'", t.Bucket)
	}
	for i, e := range t.Events {
		if !oneOf(e, S3Events) {
			c.add(fmt.Sprintf("%s.events[%d]", base, i), "unknown event %q: use one of %s%s", e, quoteAll(S3Events), suggest.Hint(e, S3Events))
		}
	}
	if !oneOf(t.ConcurrencyPolicy, ConcurrencyPolicies) {
		c.add(base+".concurrencyPolicy", "must be one of %s, got %q%s", quoteAll(ConcurrencyPolicies), t.ConcurrencyPolicy, suggest.Hint(t.ConcurrencyPolicy, ConcurrencyPolicies))
	}
	if strings.Contains(t.Marker, "/") {
		c.add(base+".marker", "must be a base name such as _SUCCESS, got %q", t.Marker)
	}
}
