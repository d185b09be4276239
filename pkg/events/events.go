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

// Package events decodes S3 bucket notifications, as AWS S3 and MinIO send them, into normalised objects.
//
// One decoder serves every path that starts a pipeline from new data (the Triggers interceptor, the direct
// receiver and `mlpipe events decode`), so they agree on what an event means, which objects it names and which
// PipelineRun name a duplicate delivery maps to.
//
// Accepted bodies:
//   - AWS S3 event notifications (eventVersion 2.x, "Records"; event names like "ObjectCreated:Put");
//   - MinIO's variant ("s3:"-prefixed event names, extra top-level "EventName" and "Key", object keys URL-encoded
//     including '/', e.g. "incoming%2F2024+report%2Bfinal.csv");
//   - AWS's s3:TestEvent, sent when a notification configuration is saved: Decode returns it with Test set and no
//     objects, so callers acknowledge it and start nothing.
package events

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// MaxRecords bounds how many records one notification may carry. S3 and MinIO send one record per
// notification; a body with more is refused rather than turned into a burst of runs.
const MaxRecords = 100

// MaxKeyBytes is S3's limit on the length of an object key.
const MaxKeyBytes = 1024

// Object is one object a notification names, normalised across AWS S3 and MinIO.
type Object struct {
	// Bucket is the bucket name.
	Bucket string `json:"bucket"`
	// Key is the object key, URL-decoded.
	Key string `json:"key"`
	// URI is s3://bucket/key.
	URI string `json:"uri"`
	// Size is the object size in bytes (0 for removals).
	Size int64 `json:"size"`
	// ETag is the entity tag without quotes; multipart uploads end in -<parts>.
	ETag string `json:"etag"`
	// VersionID is set when the bucket is versioned.
	VersionID string `json:"versionId"`
	// Sequencer orders events for the same key.
	Sequencer string `json:"sequencer"`
	// EventName always carries the "s3:" prefix, e.g. s3:ObjectCreated:Put, whoever sent it.
	EventName string `json:"eventName"`
	// EventTime is when the event happened (zero when the record has none).
	EventTime time.Time `json:"eventTime"`
	// DedupKey identifies this version of the object: bucket/key plus the version ID or, on unversioned
	// buckets, the ETag (or, when neither is sent, the sequencer). Every delivery of the same event has the
	// same DedupKey.
	DedupKey string `json:"dedupKey"`
}

// Notification is a decoded notification body.
type Notification struct {
	// Test is true for s3:TestEvent and for SNS subscription confirmations: acknowledge it, start nothing.
	Test bool
	// Format is what the body was: "s3" (AWS S3 or MinIO Records), "eventbridge" (an aws.s3 EventBridge event),
	// or "sns" (either, or a test event, inside an SNS HTTP(S) notification).
	Format string
	// SubscribeURL is set for an SNS SubscriptionConfirmation: the subscription starts delivering once someone
	// visits it (mlpipe does not fetch URLs named in request bodies).
	SubscribeURL string
	// TopicArn is the SNS topic of an SNS message.
	TopicArn string
	// Objects are the objects of the notification's records, in order.
	Objects []Object
}

// Error is a notification that cannot be decoded; Error() says why in terms a user can act on.
type Error struct {
	// Record is the index of the offending record, -1 when the body as a whole is wrong.
	Record int
	// Reason is what is wrong.
	Reason string
}

// Error implements error.
func (e *Error) Error() string {
	if e.Record < 0 {
		return "not an S3 notification: " + e.Reason
	}
	return fmt.Sprintf("S3 notification record %d: %s", e.Record, e.Reason)
}

// IsInvalid reports whether err says the notification itself is bad (the sender should not retry it as is).
func IsInvalid(err error) bool {
	var e *Error
	return errors.As(err, &e)
}

func bodyErr(format string, args ...any) error {
	return &Error{Record: -1, Reason: fmt.Sprintf(format, args...)}
}

func recordErr(i int, format string, args ...any) error {
	return &Error{Record: i, Reason: fmt.Sprintf(format, args...)}
}

// wire is the union of the AWS and MinIO body shapes, the test event, EventBridge events and SNS envelopes.
type wire struct {
	Records *[]record `json:"Records"`
	// An EventBridge event from aws.s3.
	Source     string       `json:"source"`
	DetailType string       `json:"detail-type"`
	Time       string       `json:"time"`
	Detail     *eventDetail `json:"detail"`
	// An SNS HTTP(S) delivery.
	Type         string  `json:"Type"`
	Message      *string `json:"Message"`
	TopicArn     string  `json:"TopicArn"`
	SubscribeURL string  `json:"SubscribeURL"`
	// MinIO's extra top-level fields.
	EventName string `json:"EventName"`
	Key       string `json:"Key"`
	// AWS's s3:TestEvent.
	Event   string `json:"Event"`
	Service string `json:"Service"`
}

type record struct {
	EventVersion string    `json:"eventVersion"`
	EventSource  string    `json:"eventSource"`
	EventTime    string    `json:"eventTime"`
	EventName    string    `json:"eventName"`
	S3           *recordS3 `json:"s3"`
}

type recordS3 struct {
	Bucket *wireBucket `json:"bucket"`
	Object *wireObject `json:"object"`
}

type wireBucket struct {
	Name string `json:"name"`
}

type wireObject struct {
	Key       string       `json:"key"`
	Size      *json.Number `json:"size"`
	ETag      string       `json:"eTag"`
	VersionID string       `json:"versionId"`
	Sequencer string       `json:"sequencer"`
}

// eventDetail is the detail of an S3 EventBridge event.
type eventDetail struct {
	Bucket *wireBucket `json:"bucket"`
	Object *struct {
		Key       string       `json:"key"`
		Size      *json.Number `json:"size"`
		ETag      string       `json:"etag"`
		VersionID string       `json:"version-id"`
		Sequencer string       `json:"sequencer"`
	} `json:"object"`
	Reason       string `json:"reason"`
	DeletionType string `json:"deletion-type"`
}

// Decode decodes one notification body: an S3 or MinIO event notification ("Records"), s3:TestEvent, an
// EventBridge event from aws.s3, or any of these inside an SNS HTTP(S) message. Every error is an *Error.
func Decode(body []byte) (*Notification, error) {
	return decode(body, true)
}

func decode(body []byte, allowSNS bool) (*Notification, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil, bodyErr("the body is empty")
	}
	if trimmed[0] != '{' {
		return nil, bodyErr("the body is not a JSON object")
	}
	if !utf8.Valid(trimmed) {
		return nil, bodyErr("the body is not valid UTF-8")
	}
	var w wire
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.UseNumber()
	if err := dec.Decode(&w); err != nil {
		return nil, bodyErr("invalid JSON: %v", err)
	}
	if dec.More() {
		return nil, bodyErr("invalid JSON: data after the top-level object")
	}
	if w.Records == nil {
		switch {
		case w.Event == "s3:TestEvent":
			return &Notification{Test: true, Format: "s3"}, nil
		case w.Source != "" || w.DetailType != "":
			return decodeEventBridge(&w)
		case w.Type != "" && w.TopicArn != "":
			if !allowSNS {
				return nil, bodyErr("an SNS message inside an SNS message")
			}
			return decodeSNS(&w)
		}
		return nil, bodyErr(`no "Records" array (an S3/MinIO event notification has one; so do the S3 events SNS delivers, and EventBridge events have "source": "aws.s3")`)
	}
	recs := *w.Records
	if len(recs) == 0 {
		return nil, bodyErr(`"Records" is empty`)
	}
	if len(recs) > MaxRecords {
		return nil, bodyErr("%d records in one notification; at most %d are accepted", len(recs), MaxRecords)
	}
	n := &Notification{Format: "s3", Objects: make([]Object, 0, len(recs))}
	for i := range recs {
		o, err := decodeRecord(i, &recs[i])
		if err != nil {
			return nil, err
		}
		n.Objects = append(n.Objects, o)
	}
	return n, nil
}

// decodeSNS unwraps an SNS HTTP(S) delivery: a Notification's Message is decoded as a body of its own; a
// SubscriptionConfirmation is acknowledged and reports its SubscribeURL.
func decodeSNS(w *wire) (*Notification, error) {
	switch w.Type {
	case "SubscriptionConfirmation", "UnsubscribeConfirmation":
		return &Notification{Test: true, Format: "sns", TopicArn: w.TopicArn, SubscribeURL: w.SubscribeURL}, nil
	case "Notification":
		if w.Message == nil {
			return nil, bodyErr(`SNS notification without a "Message"`)
		}
		n, err := decode([]byte(*w.Message), false)
		if err != nil {
			var e *Error
			if errors.As(err, &e) {
				e.Reason = "in the SNS message: " + e.Reason
			}
			return nil, err
		}
		n.Format, n.TopicArn = "sns", w.TopicArn
		return n, nil
	default:
		return nil, bodyErr("unknown SNS message type %q", w.Type)
	}
}

// eventBridgeNames maps S3's EventBridge detail-types to the event names of S3 notifications, so that one
// filter (spec.triggers.s3.events) serves both.
var eventBridgeNames = map[string]string{
	"Object Restore Initiated":     "s3:ObjectRestore:Post",
	"Object Restore Completed":     "s3:ObjectRestore:Completed",
	"Object Restore Expired":       "s3:ObjectRestore:Delete",
	"Object Tags Added":            "s3:ObjectTagging:Put",
	"Object Tags Deleted":          "s3:ObjectTagging:Delete",
	"Object ACL Updated":           "s3:ObjectAcl:Put",
	"Object Storage Class Changed": "s3:LifecycleTransition",
	"Object Access Tier Changed":   "s3:IntelligentTiering",
}

// createdReasons maps the reason of an "Object Created" event to the notification event name.
var createdReasons = map[string]string{
	"PutObject":               "s3:ObjectCreated:Put",
	"POST Object":             "s3:ObjectCreated:Post",
	"PostObject":              "s3:ObjectCreated:Post",
	"CopyObject":              "s3:ObjectCreated:Copy",
	"CompleteMultipartUpload": "s3:ObjectCreated:CompleteMultipartUpload",
}

// decodeEventBridge decodes an EventBridge event from aws.s3 (one object; its key is not URL-encoded).
func decodeEventBridge(w *wire) (*Notification, error) {
	if w.Source != "aws.s3" {
		return nil, bodyErr("EventBridge event from source %q: only aws.s3 events name objects", w.Source)
	}
	var name string
	switch w.DetailType {
	case "Object Created":
		name = "s3:ObjectCreated:Put"
		if w.Detail != nil {
			if n, ok := createdReasons[w.Detail.Reason]; ok {
				name = n
			}
		}
	case "Object Deleted":
		name = "s3:ObjectRemoved:Delete"
		if w.Detail != nil && w.Detail.DeletionType == "Delete Marker Created" {
			name = "s3:ObjectRemoved:DeleteMarkerCreated"
		}
	default:
		var ok bool
		if name, ok = eventBridgeNames[w.DetailType]; !ok {
			return nil, bodyErr("unsupported EventBridge detail-type %q of aws.s3", w.DetailType)
		}
	}
	d := w.Detail
	if d == nil {
		return nil, bodyErr(`EventBridge event without "detail"`)
	}
	r := &record{EventName: name, EventTime: w.Time, S3: &recordS3{Bucket: d.Bucket}}
	if ob := d.Object; ob != nil {
		r.S3.Object = &wireObject{Key: ob.Key, Size: ob.Size, ETag: ob.ETag, VersionID: ob.VersionID, Sequencer: ob.Sequencer}
	}
	o, err := decodeObject(0, r, false)
	if err != nil {
		return nil, err
	}
	return &Notification{Format: "eventbridge", Objects: []Object{o}}, nil
}

func decodeRecord(i int, r *record) (Object, error) {
	if r.EventVersion == "" {
		return Object{}, recordErr(i, "no eventVersion")
	}
	major, _, _ := strings.Cut(r.EventVersion, ".")
	if major != "2" {
		return Object{}, recordErr(i, "unsupported eventVersion %q: only major version 2 (2.x) is understood", r.EventVersion)
	}
	return decodeObject(i, r, true)
}

// decodeObject normalises one record; keyEncoded says whether the key arrives URL-encoded (S3 and MinIO
// notifications) or as is (EventBridge).
func decodeObject(i int, r *record, keyEncoded bool) (Object, error) {
	var o Object
	if r.EventName == "" {
		return o, recordErr(i, "no eventName")
	}
	o.EventName = r.EventName
	if !strings.HasPrefix(o.EventName, "s3:") {
		o.EventName = "s3:" + o.EventName
	}
	if !validEventName(o.EventName) {
		return o, recordErr(i, "invalid eventName %q", r.EventName)
	}
	if r.EventTime != "" {
		t, err := time.Parse(time.RFC3339Nano, r.EventTime)
		if err != nil {
			return o, recordErr(i, "invalid eventTime %q: want RFC 3339", r.EventTime)
		}
		o.EventTime = t.UTC()
	}
	if r.S3 == nil {
		return o, recordErr(i, `no "s3" section`)
	}
	if r.S3.Bucket == nil || r.S3.Bucket.Name == "" {
		return o, recordErr(i, "no bucket name (s3.bucket.name)")
	}
	o.Bucket = r.S3.Bucket.Name
	if err := ValidateBucket(o.Bucket); err != nil {
		return o, recordErr(i, "%v", err)
	}
	ob := r.S3.Object
	if ob == nil || ob.Key == "" {
		return o, recordErr(i, "no object key (s3.object.key)")
	}
	key := ob.Key
	if keyEncoded {
		var err error
		if key, err = url.QueryUnescape(ob.Key); err != nil {
			return o, recordErr(i, "object key %q is not URL-encoded as S3 and MinIO send it: %v", ob.Key, err)
		}
	}
	if err := ValidateKey(key); err != nil {
		return o, recordErr(i, "%v", err)
	}
	o.Key = key
	o.URI = "s3://" + o.Bucket + "/" + o.Key
	if ob.Size != nil {
		size, err := ob.Size.Int64()
		if err != nil || size < 0 {
			return o, recordErr(i, "invalid object size %s", ob.Size.String())
		}
		o.Size = size
	}
	o.ETag = strings.Trim(ob.ETag, `"`)
	o.VersionID = ob.VersionID
	o.Sequencer = ob.Sequencer
	for _, f := range []struct{ name, v string }{{"eTag", o.ETag}, {"versionId", o.VersionID}, {"sequencer", o.Sequencer}} {
		if !printableToken(f.v) {
			return o, recordErr(i, "invalid %s %q", f.name, f.v)
		}
	}
	switch {
	case o.VersionID != "":
		o.DedupKey = o.Bucket + "/" + o.Key + "@v:" + o.VersionID
	case o.ETag != "":
		o.DedupKey = o.Bucket + "/" + o.Key + "@etag:" + o.ETag
	case o.Sequencer != "":
		o.DedupKey = o.Bucket + "/" + o.Key + "@seq:" + o.Sequencer
	default:
		return o, recordErr(i, "object %s has no versionId, eTag or sequencer to tell its versions apart", o.URI)
	}
	return o, nil
}

// validEventName accepts s3:<Category>:<Detail> names made of letters, digits and '*'.
func validEventName(s string) bool {
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 4 || len(s) > 128 {
		return false
	}
	for _, p := range parts {
		if p == "" {
			return false
		}
		for _, r := range p {
			if !(r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '*' || r == '_')) {
				return false
			}
		}
	}
	return true
}

func printableToken(s string) bool {
	if len(s) > 1024 {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r >= 0x7f {
			return false
		}
	}
	return true
}

// ValidateBucket checks a bucket name against S3's rules (3-63 characters: lowercase letters, digits, '.', '-',
// starting and ending with a letter or digit).
func ValidateBucket(b string) error {
	if len(b) < 3 || len(b) > 63 {
		return fmt.Errorf("invalid bucket name %q: S3 bucket names have 3 to 63 characters", b)
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-'
		if !ok {
			return fmt.Errorf("invalid bucket name %q: only lowercase letters, digits, '.' and '-' are allowed", b)
		}
	}
	if !alnum(b[0]) || !alnum(b[len(b)-1]) {
		return fmt.Errorf("invalid bucket name %q: it must start and end with a letter or digit", b)
	}
	if strings.Contains(b, "..") {
		return fmt.Errorf("invalid bucket name %q: no two adjacent periods", b)
	}
	return nil
}

func alnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

// RefusedKeyChars are characters mlpipe refuses in object keys it passes to a pipeline. Keys only ever reach
// steps as params, never as script text; refusing these (AWS lists them as characters to avoid or to handle
// specially in keys) is defence in depth against shells, Tekton's and Triggers' $(...) substitution and URI
// parsing in user steps.
const RefusedKeyChars = "$`;|<>\\\"{}^%#?[]~"

// ValidateKey checks a decoded object key: valid UTF-8, at most MaxKeyBytes, no control characters (NUL,
// newline, ...), no RefusedKeyChars, no leading '/', no empty, "." or ".." path segments.
func ValidateKey(k string) error {
	if k == "" {
		return errors.New("empty object key")
	}
	if !utf8.ValidString(k) {
		return fmt.Errorf("object key %q is not valid UTF-8", k)
	}
	if len(k) > MaxKeyBytes {
		return fmt.Errorf("object key of %d bytes: S3 keys have at most %d", len(k), MaxKeyBytes)
	}
	for _, r := range k {
		if unicode.IsControl(r) || r == utf8.RuneError || r == '\u2028' || r == '\u2029' {
			return fmt.Errorf("object key %q contains the control character %U", k, r)
		}
		if strings.ContainsRune(RefusedKeyChars, r) {
			return fmt.Errorf("object key %q contains %q, which mlpipe refuses in keys it passes to a pipeline (refused: %s)", k, r, RefusedKeyChars)
		}
	}
	if strings.HasPrefix(k, "/") {
		return fmt.Errorf("object key %q starts with '/'", k)
	}
	for _, seg := range strings.Split(k, "/") {
		if seg == "." || seg == ".." {
			return fmt.Errorf("object key %q contains the path segment %q", k, seg)
		}
	}
	if strings.Contains(k, "//") {
		return fmt.Errorf("object key %q contains an empty path segment", k)
	}
	return nil
}

// RunName is the name of the PipelineRun that this object version starts for pipeline: a DNS-1123 label of at
// most 63 characters, "<pipeline>-s3-<hash of DedupKey>", the same for every delivery of the event, so that a
// duplicate delivery hits AlreadyExists instead of starting a second run.
func (o *Object) RunName(pipeline string) string {
	return NameFor(pipeline, "s3", o.DedupKey)
}

// NameFor derives a DNS-1123 label of at most 63 characters from prefix (truncated, lowercased, invalid
// characters replaced), kind and a 16-hex-digit SHA-256 of key.
func NameFor(prefix, kind, key string) string {
	sum := sha256.Sum256([]byte(key))
	suffix := "-" + kind + "-" + hex.EncodeToString(sum[:8])
	var b strings.Builder
	for _, r := range strings.ToLower(prefix) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	p := b.String()
	if max := 63 - len(suffix); len(p) > max {
		p = p[:max]
	}
	p = strings.Trim(p, "-")
	if p == "" {
		p = "mlpipe"
	}
	return p + suffix
}
