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
	"encoding/base64"
	"errors"
	"net/http"
	"testing"
)

func TestFilter(t *testing.T) {
	obj := func(key, event string) *Object { return &Object{Bucket: "datasets", Key: key, EventName: event} }
	tests := []struct {
		name   string
		filter Filter
		obj    *Object
		want   bool
	}{
		{"empty filter takes created objects", Filter{}, obj("a.csv", "s3:ObjectCreated:Put"), true},
		{"empty filter refuses removals", Filter{}, obj("a.csv", "s3:ObjectRemoved:Delete"), false},
		{"bucket", Filter{Bucket: "datasets"}, obj("a.csv", "s3:ObjectCreated:Put"), true},
		{"other bucket", Filter{Bucket: "models"}, obj("a.csv", "s3:ObjectCreated:Put"), false},
		{"prefix", Filter{Prefix: "churn/"}, obj("churn/a.csv", "s3:ObjectCreated:Put"), true},
		{"prefix mismatch", Filter{Prefix: "churn/"}, obj("other/a.csv", "s3:ObjectCreated:Put"), false},
		{"suffix", Filter{Suffix: ".csv"}, obj("churn/a.csv", "s3:ObjectCreated:Put"), true},
		{"suffix mismatch", Filter{Suffix: ".csv"}, obj("churn/a.json", "s3:ObjectCreated:Put"), false},
		{"exact event", Filter{Events: []string{"s3:ObjectCreated:Put"}}, obj("a", "s3:ObjectCreated:Put"), true},
		{"exact event mismatch", Filter{Events: []string{"s3:ObjectCreated:Put"}}, obj("a", "s3:ObjectCreated:Copy"), false},
		{"AWS-style event name in filter", Filter{Events: []string{"ObjectCreated:*"}}, obj("a", "s3:ObjectCreated:CompleteMultipartUpload"), true},
		{"marker", Filter{Prefix: "churn/", Suffix: ".csv", Marker: "_SUCCESS"}, obj("churn/2024/_SUCCESS", "s3:ObjectCreated:Put"), true},
		{"marker mode ignores data files", Filter{Prefix: "churn/", Suffix: ".csv", Marker: "_SUCCESS"}, obj("churn/2024/part-0.csv", "s3:ObjectCreated:Put"), false},
		{"marker outside prefix", Filter{Prefix: "churn/", Marker: "_SUCCESS"}, obj("other/_SUCCESS", "s3:ObjectCreated:Put"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, reason := tt.filter.Match(tt.obj)
			if got != tt.want {
				t.Errorf("Match() = %v (%s), want %v", got, reason, tt.want)
			}
			if !got && reason == "" {
				t.Error("no reason for a mismatch")
			}
		})
	}
	f := Filter{Marker: "_SUCCESS"}
	tgt := f.Target(Object{Bucket: "b12", Key: "churn/2024/_SUCCESS", URI: "s3://b12/churn/2024/_SUCCESS", DedupKey: "d"})
	if tgt.URI != "s3://b12/churn/2024/" || tgt.Key != "churn/2024/" || tgt.DedupKey != "d" {
		t.Errorf("Target() = %+v", tgt)
	}
	for _, bad := range []Filter{{Bucket: "A"}, {Marker: "a/_SUCCESS"}, {Events: []string{"s3:Object Created"}}} {
		if err := bad.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil", bad)
		}
	}
}

func TestAuth(t *testing.T) {
	body := []byte(`{"Records":[]}`)
	key := []byte("hmac-key")
	hdr := func(kv ...string) http.Header {
		h := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		return h
	}
	tests := []struct {
		name string
		auth Auth
		h    http.Header
		body []byte
		ok   bool
	}{
		{"token", Auth{Token: []byte("s3cr3t")}, hdr("Authorization", "Bearer s3cr3t"), body, true},
		{"missing token", Auth{Token: []byte("s3cr3t")}, hdr(), body, false},
		{"wrong token", Auth{Token: []byte("s3cr3t")}, hdr("Authorization", "Bearer s3cr3T"), body, false},
		{"token prefix only", Auth{Token: []byte("s3cr3t")}, hdr("Authorization", "Bearer s3cr"), body, false},
		{"basic auth without a user part", Auth{Token: []byte("s3cr3t")}, hdr("Authorization", "Basic czNjcjN0"), body, false},
		{"basic auth with the token as password (SNS)", Auth{Token: []byte("s3cr3t")}, hdr("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("sns:s3cr3t"))), body, true},
		{"basic auth with a wrong password", Auth{Token: []byte("s3cr3t")}, hdr("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("sns:s3cr3T"))), body, false},
		{"empty bearer", Auth{Token: []byte("s3cr3t")}, hdr("Authorization", "Bearer "), body, false},
		{"hmac", Auth{HMACKey: key}, hdr(SignatureHeader, SignatureValue(key, body)), body, true},
		{"missing hmac", Auth{HMACKey: key}, hdr(), body, false},
		{"hmac with another key", Auth{HMACKey: key}, hdr(SignatureHeader, SignatureValue([]byte("other"), body)), body, false},
		{"hmac over a re-serialised body", Auth{HMACKey: key}, hdr(SignatureHeader, SignatureValue(key, []byte(`{"Records": []}`))), body, false},
		{"hmac not hex", Auth{HMACKey: key}, hdr(SignatureHeader, "sha256=zz"), body, false},
		{"hmac without algorithm", Auth{HMACKey: key}, hdr(SignatureHeader, SignatureValue(key, body)[7:]), body, false},
		{"both configured, both sent", Auth{Token: []byte("t"), HMACKey: key}, hdr("Authorization", "Bearer t", SignatureHeader, SignatureValue(key, body)), body, true},
		{"both configured, token only", Auth{Token: []byte("t"), HMACKey: key}, hdr("Authorization", "Bearer t"), body, false},
		{"nothing configured", Auth{}, hdr("Authorization", "Bearer "), body, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.auth.Check(tt.h, tt.body)
			if (err == nil) != tt.ok {
				t.Fatalf("Check() = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrUnauthenticated) {
				t.Errorf("error %v does not wrap ErrUnauthenticated", err)
			}
		})
	}
}
