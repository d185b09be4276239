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

package events

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name string
		file string
		want []Object
	}{{
		name: "minio put, key with '/', space and '+' (shared testdata)",
		file: "minio-put-spaces-plus.json",
		want: []Object{{
			Bucket: "uploads", Key: "incoming/2024 report+final.csv", URI: "s3://uploads/incoming/2024 report+final.csv",
			Size: 12, ETag: "b282d9f61f8444d101d92c50705aa1bd", Sequencer: "18EBCD28AFFA9312",
			EventName: "s3:ObjectCreated:Put", EventTime: time.Date(2026, 11, 27, 4, 40, 51, 95e6, time.UTC),
			DedupKey: "uploads/incoming/2024 report+final.csv@etag:b282d9f61f8444d101d92c50705aa1bd",
		}},
	}, {
		name: "minio put",
		file: "minio-put.json",
		want: []Object{{
			Bucket: "datasets", Key: "churn/train.csv", URI: "s3://datasets/churn/train.csv", Size: 8,
			ETag: "e5ebd4c02cefbe7955977c67ada242b7", Sequencer: "18EBD22EA01481AA", EventName: "s3:ObjectCreated:Put",
			EventTime: time.Date(2026, 11, 27, 6, 12, 54, 140e6, time.UTC),
			DedupKey:  "datasets/churn/train.csv@etag:e5ebd4c02cefbe7955977c67ada242b7",
		}},
	}, {
		name: "aws put, versioned",
		file: "aws-put.json",
		want: []Object{{
			Bucket: "amzn-s3-demo-bucket", Key: "HappyFace.jpg", URI: "s3://amzn-s3-demo-bucket/HappyFace.jpg", Size: 1024,
			ETag: "d41d8cd98f00b204e9800998ecf8427e", VersionID: "096fKKXTRTtl3on89fVO.nfljtsv6qko",
			Sequencer: "0055AED6DCD90281E5", EventName: "s3:ObjectCreated:Put", EventTime: time.Unix(0, 0).UTC(),
			DedupKey: "amzn-s3-demo-bucket/HappyFace.jpg@v:096fKKXTRTtl3on89fVO.nfljtsv6qko",
		}},
	}, {
		name: "aws multipart, form-encoded key, quoted etag",
		file: "aws-put-encoded-key.json",
		want: []Object{{
			Bucket: "ml-data.example", Key: "churn/2024 11/train set.csv", URI: "s3://ml-data.example/churn/2024 11/train set.csv",
			Size: 73400320, ETag: "1b2cf535f27731c974343645a3985328-14", Sequencer: "0065A1B2C3D4E5F601",
			EventName: "s3:ObjectCreated:CompleteMultipartUpload", EventTime: time.Date(2024, 11, 27, 10, 0, 0, 123e6, time.UTC),
			DedupKey: "ml-data.example/churn/2024 11/train set.csv@etag:1b2cf535f27731c974343645a3985328-14",
		}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode(readTestdata(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if got.Test {
				t.Error("Test = true")
			}
			if d := cmp.Diff(tt.want, got.Objects); d != "" {
				t.Errorf("Decode() (-want +got):\n%s", d)
			}
		})
	}
}

var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// TestDecodeCaptured checks every payload captured from a real MinIO server (and AWS's documented examples).
func TestDecodeCaptured(t *testing.T) {
	tests := []struct {
		file, event, key, versionSuffix string
	}{
		{"minio-put-marker.json", "s3:ObjectCreated:Put", "churn/2024-11-01/_SUCCESS", ""},
		{"minio-put-versioned-1.json", "s3:ObjectCreated:Put", "churn/train.csv", "@v:fd7fa0c2-3119-446f-9dca-2ed96eebdc6e"},
		{"minio-put-versioned-2.json", "s3:ObjectCreated:Put", "churn/train.csv", "@v:"},
		{"minio-put-unicode.json", "s3:ObjectCreated:Put", "ünïcödé/dätä & more (1).csv", "@etag:"},
		{"minio-multipart.json", "s3:ObjectCreated:CompleteMultipartUpload", "churn/big.csv", "-2"},
		{"minio-copy.json", "s3:ObjectCreated:Copy", "churn/copy.csv", "@etag:"},
		{"minio-delete.json", "s3:ObjectRemoved:Delete", "churn/copy.csv", "@seq:"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			n, err := Decode(readTestdata(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if len(n.Objects) != 1 {
				t.Fatalf("%d objects, want 1", len(n.Objects))
			}
			o := n.Objects[0]
			if o.EventName != tt.event || o.Key != tt.key {
				t.Errorf("got event %q key %q, want %q %q", o.EventName, o.Key, tt.event, tt.key)
			}
			if !strings.Contains(o.DedupKey, tt.versionSuffix) || !strings.HasPrefix(o.DedupKey, o.Bucket+"/"+o.Key+"@") {
				t.Errorf("DedupKey %q: want bucket/key@... containing %q", o.DedupKey, tt.versionSuffix)
			}
			if name := o.RunName("churn"); len(name) > 63 || !dnsLabel.MatchString(name) {
				t.Errorf("RunName %q is not a DNS-1123 label of <= 63 characters", name)
			}
		})
	}
	// Two versions of the same key are two runs; one version delivered twice is one run.
	v1, _ := Decode(readTestdata(t, "minio-put-versioned-1.json"))
	v2, _ := Decode(readTestdata(t, "minio-put-versioned-2.json"))
	again, _ := Decode(readTestdata(t, "minio-put-versioned-1.json"))
	if v1.Objects[0].RunName("p") == v2.Objects[0].RunName("p") {
		t.Error("two versions of one key map to the same run name")
	}
	if v1.Objects[0].RunName("p") != again.Objects[0].RunName("p") {
		t.Error("one event delivered twice maps to two run names")
	}
}

func TestDecodeTestEvent(t *testing.T) {
	n, err := Decode(readTestdata(t, "aws-test-event.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !n.Test || len(n.Objects) != 0 {
		t.Errorf("got %+v, want a test event without objects", n)
	}
}

// minio builds a MinIO-shaped body around one record's object key and bucket.
func minio(bucket, escapedKey string) string {
	return `{"EventName":"s3:ObjectCreated:Put","Key":"x","Records":[{"eventVersion":"2.0","eventSource":"minio:s3",` +
		`"eventTime":"2026-11-27T04:40:51.095Z","eventName":"s3:ObjectCreated:Put","s3":{"bucket":{"name":"` + bucket +
		`"},"object":{"key":"` + escapedKey + `","size":1,"eTag":"abc","sequencer":"1"}}}]}`
}

func TestDecodeErrors(t *testing.T) {
	good := string(readTestdata(t, "aws-put.json"))
	tests := []struct {
		name, body, want string
	}{
		{"empty body", "", "the body is empty"},
		{"whitespace", " \n\t ", "the body is empty"},
		{"not an object", `[{"Records":[]}]`, "not a JSON object"},
		{"invalid JSON", `{"Records": [`, "invalid JSON"},
		{"trailing data", `{"Records":[]} {}`, "data after the top-level object"},
		{"not UTF-8", "{\"Records\":[],\"x\":\"\xff\"}", "not valid UTF-8"},
		{"no Records", `{"foo":"bar"}`, `no "Records" array`},
		{"Records null", `{"Records":null}`, `no "Records" array`},
		{"Records empty", `{"Records":[]}`, `"Records" is empty`},
		{"Records not an array", `{"Records":{}}`, "invalid JSON"},
		{"too many records", `{"Records":[` + strings.Repeat(`{},`, MaxRecords) + `{}]}`, "at most 100"},
		{"unknown major eventVersion", strings.Replace(good, `"2.1"`, `"3.0"`, 1), `unsupported eventVersion "3.0"`},
		{"eventVersion 1", strings.Replace(good, `"2.1"`, `"1.0"`, 1), `unsupported eventVersion "1.0"`},
		{"no eventVersion", strings.Replace(good, `"eventVersion": "2.1",`, ``, 1), "no eventVersion"},
		{"no eventName", strings.Replace(good, `"eventName": "ObjectCreated:Put",`, ``, 1), "no eventName"},
		{"bad eventName", strings.Replace(good, `"ObjectCreated:Put"`, `"ObjectCreated:Put; rm"`, 1), "invalid eventName"},
		{"bad eventTime", strings.Replace(good, `"1970-01-01T00:00:00.000Z"`, `"yesterday"`, 1), "invalid eventTime"},
		{"no s3 section", `{"Records":[{"eventVersion":"2.1","eventName":"ObjectCreated:Put"}]}`, `no "s3" section`},
		{"missing bucket", strings.Replace(good, `"name": "amzn-s3-demo-bucket",`, ``, 1), "no bucket name"},
		{"bucket with slash", minio("a/b/c", "k"), "invalid bucket name"},
		{"bucket too short", minio("ab", "k"), "3 to 63"},
		{"uppercase bucket", minio("Datasets", "k"), "invalid bucket name"},
		{"missing key", minio("datasets", ""), "no object key"},
		{"bad URL escape in key", minio("datasets", "a%ZZ"), "not URL-encoded"},
		{"key with $(params.x)", minio("datasets", "a%2F%24%28params.x%29.csv"), `contains '$'`},
		{"key with shell command", minio("datasets", "a%3B+rm+-rf+%2F"), `contains ';'`},
		{"key with backtick", minio("datasets", "%60id%60.csv"), "contains '`'"},
		{"key with pipe", minio("datasets", "a%7Cb"), "contains '|'"},
		{"key with ../", minio("datasets", "..%2F..%2Fetc%2Fpasswd"), `path segment ".."`},
		{"key with ./", minio("datasets", "a%2F.%2Fb"), `path segment "."`},
		{"key with leading slash", minio("datasets", "%2Fetc%2Fpasswd"), "starts with '/'"},
		{"key with empty segment", minio("datasets", "a%2F%2Fb"), "empty path segment"},
		{"key with newline", minio("datasets", "a%0Ab.csv"), "control character U+000A"},
		{"key with carriage return", minio("datasets", "a%0Db.csv"), "control character U+000D"},
		{"key with NUL", minio("datasets", "a%00b.csv"), "control character U+0000"},
		{"key with raw newline", minio("datasets", `a\nb.csv`), "control character U+000A"},
		{"key not UTF-8", minio("datasets", "a%FF%FEb.csv"), "not valid UTF-8"},
		{"key with percent", minio("datasets", "a%2541.csv"), `contains '%'`},
		{"key with fragment", minio("datasets", "a%23b.csv"), `contains '#'`},
		{"key with query", minio("datasets", "a%3Fb.csv"), `contains '?'`},
		{"key too long", minio("datasets", strings.Repeat("a", MaxKeyBytes+1)), "at most 1024"},
		{"negative size", strings.Replace(good, `"size": 1024`, `"size": -1`, 1), "invalid object size"},
		{"fractional size", strings.Replace(good, `"size": 1024`, `"size": 1.5`, 1), "invalid object size"},
		{"etag with newline", strings.Replace(good, `"d41d8cd98f00b204e9800998ecf8427e"`, `"a\nb"`, 1), "invalid eTag"},
		{"no version, etag or sequencer", `{"Records":[{"eventVersion":"2.1","eventName":"ObjectRemoved:Delete","s3":{"bucket":{"name":"bkt"},"object":{"key":"k"}}}]}`, "no versionId, eTag or sequencer"},
		{"test event misspelt", `{"Service":"Amazon S3","Event":"s3:TestEvents"}`, `no "Records" array`},
		{"record not an object", `{"Records":["x"]}`, "invalid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := Decode([]byte(tt.body))
			if err == nil {
				t.Fatalf("Decode() = %+v, want an error containing %q", n, tt.want)
			}
			if !IsInvalid(err) {
				t.Errorf("IsInvalid(%v) = false", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestRunName(t *testing.T) {
	long := strings.Repeat("very-long-pipeline-name", 5)
	tests := []struct{ pipeline, key string }{
		{"churn", "datasets/churn/train.csv@etag:x"},
		{long, "k"},
		{"UPPER_case.pipe", "k"},
		{"---", "k"},
		{strings.Repeat("a", 42) + "-" + strings.Repeat("b", 30), "k"},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		o := Object{DedupKey: tt.key}
		name := o.RunName(tt.pipeline)
		if len(name) > 63 || !dnsLabel.MatchString(name) {
			t.Errorf("RunName(%q) = %q: not a DNS-1123 label of <= 63 characters", tt.pipeline, name)
		}
		if name != o.RunName(tt.pipeline) {
			t.Errorf("RunName(%q) is not stable", tt.pipeline)
		}
		if seen[name] {
			t.Errorf("RunName(%q) = %q collides", tt.pipeline, name)
		}
		seen[name] = true
	}
	if got := (&Object{DedupKey: "datasets/churn/train.csv@etag:x"}).RunName("churn"); got != "churn-s3-"+NameFor("", "", "datasets/churn/train.csv@etag:x")[len("mlpipe--"):] {
		t.Errorf("RunName = %q", got)
	}
}

func TestObjectJSON(t *testing.T) {
	n, err := Decode(readTestdata(t, "minio-put-spaces-plus.json"))
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(n.Objects[0])
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	if err := json.Unmarshal(data, &fields); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"bucket", "key", "uri", "size", "etag", "versionId", "sequencer", "eventName", "eventTime", "dedupKey"} {
		if _, ok := fields[f]; !ok {
			t.Errorf("JSON of Object has no %q field: %s", f, data)
		}
	}
	if len(fields) != 10 {
		t.Errorf("JSON of Object has %d fields, want 10: %s", len(fields), data)
	}
}

// FuzzDecode checks that Decode never panics, and that whatever it accepts is safe to pass on.
func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(minio("datasets", "a%2F%24%28params.x%29.csv")))
	f.Add([]byte(`{"Records":[{}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		n, err := Decode(body)
		if err != nil {
			if !IsInvalid(err) {
				t.Fatalf("error %v is not an *Error", err)
			}
			return
		}
		for _, o := range n.Objects {
			if err := ValidateKey(o.Key); err != nil {
				t.Fatalf("accepted an unsafe key: %v", err)
			}
			if err := ValidateBucket(o.Bucket); err != nil {
				t.Fatalf("accepted a bad bucket: %v", err)
			}
			if o.DedupKey == "" || !strings.HasPrefix(o.DedupKey, o.Bucket+"/"+o.Key+"@") {
				t.Fatalf("bad DedupKey %q", o.DedupKey)
			}
			if name := o.RunName("p"); len(name) > 63 || !dnsLabel.MatchString(name) {
				t.Fatalf("bad run name %q", name)
			}
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	body := readTestdata(b, "minio-put-spaces-plus.json")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(body); err != nil {
			b.Fatal(err)
		}
	}
}

// TestDecodeAWSRelays: AWS S3 cannot call a webhook itself; it reaches one through SNS (HTTP(S) subscription)
// or EventBridge (API destination). Both shapes decode to the same objects as a direct notification.
func TestDecodeAWSRelays(t *testing.T) {
	direct, err := Decode(readTestdata(t, "aws-put.json"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, file   string
		want         []Object
		format       string
		test         bool
		subscribeURL string
	}{{
		name: "SNS notification carrying an S3 event", file: "sns-s3-notification.json",
		want: direct.Objects, format: "sns",
	}, {
		name: "SNS notification carrying s3:TestEvent", file: "sns-s3-test-event.json",
		format: "sns", test: true,
	}, {
		name: "SNS subscription confirmation", file: "sns-subscription-confirmation.json",
		format: "sns", test: true,
		subscribeURL: "https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:us-west-2:123456789012:ml-data&Token=2336412f37fb687f",
	}, {
		name: "EventBridge Object Created: the key is not URL-encoded ('+' and ':' stay)", file: "eventbridge-object-created.json",
		format: "eventbridge",
		want: []Object{{
			Bucket: "ml-datasets", Key: "churn/2026-11-12T00:00:00/train+v2.csv", URI: "s3://ml-datasets/churn/2026-11-12T00:00:00/train+v2.csv",
			Size: 5242880, ETag: "b1946ac92492d2347c6235b4d2611184-2", VersionID: "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e", Sequencer: "617f08299329d189",
			EventName: "s3:ObjectCreated:CompleteMultipartUpload", EventTime: time.Date(2026, 11, 12, 0, 0, 0, 0, time.UTC),
			DedupKey: "ml-datasets/churn/2026-11-12T00:00:00/train+v2.csv@v:IYV3p45BT0ac8hjHg1houSdS1a.Mro8e",
		}},
	}, {
		name: "EventBridge Object Deleted with a delete marker", file: "eventbridge-object-deleted.json",
		format: "eventbridge",
		want: []Object{{
			Bucket: "ml-datasets", Key: "churn/old.csv", URI: "s3://ml-datasets/churn/old.csv",
			ETag: "d41d8cd98f00b204e9800998ecf8427e", VersionID: "1QW9g1Z99LUNbvaaYVpW9xDlOLU.qxgF", Sequencer: "617f0837b476e463",
			EventName: "s3:ObjectRemoved:DeleteMarkerCreated", EventTime: time.Date(2026, 11, 12, 0, 0, 0, 0, time.UTC),
			DedupKey: "ml-datasets/churn/old.csv@v:1QW9g1Z99LUNbvaaYVpW9xDlOLU.qxgF",
		}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := Decode(readTestdata(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if n.Format != tt.format || n.Test != tt.test || n.SubscribeURL != tt.subscribeURL {
				t.Errorf("Format %q Test %v SubscribeURL %q, want %q %v %q", n.Format, n.Test, n.SubscribeURL, tt.format, tt.test, tt.subscribeURL)
			}
			if d := cmp.Diff(tt.want, n.Objects); d != "" {
				t.Errorf("objects (-want +got):\n%s", d)
			}
		})
	}
}

func TestDecodeAWSRelayErrors(t *testing.T) {
	inner := string(readTestdata(t, "aws-put.json"))
	sns := func(typ, msg string) string {
		b, _ := json.Marshal(map[string]string{"Type": typ, "TopicArn": "arn:aws:sns:us-west-2:1:t", "Message": msg})
		return string(b)
	}
	tests := []struct{ name, body, want string }{
		{"SNS message that is not an S3 event", sns("Notification", `{"hello": "world"}`), `in the SNS message: no "Records" array`},
		{"SNS message that is not JSON", sns("Notification", "plain text"), "in the SNS message: the body is not a JSON object"},
		{"SNS inside SNS", sns("Notification", sns("Notification", inner)), "an SNS message inside an SNS message"},
		{"unknown SNS type", sns("Reminder", inner), `unknown SNS message type "Reminder"`},
		{"EventBridge event of another service", `{"source": "aws.ec2", "detail-type": "EC2 Instance State-change Notification", "detail": {}}`, `source "aws.ec2"`},
		{"unsupported S3 EventBridge type", `{"source": "aws.s3", "detail-type": "Object Renamed", "detail": {}}`, `unsupported EventBridge detail-type "Object Renamed"`},
		{"EventBridge without detail", `{"source": "aws.s3", "detail-type": "Object Created"}`, `without "detail"`},
		{"EventBridge without a key", `{"source": "aws.s3", "detail-type": "Object Created", "detail": {"bucket": {"name": "abc"}, "object": {"etag": "x"}}}`, "no object key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode([]byte(tt.body))
			if err == nil || !strings.Contains(err.Error(), tt.want) || !IsInvalid(err) {
				t.Errorf("Decode() error = %v, want an invalid-notification error containing %q", err, tt.want)
			}
		})
	}
}
