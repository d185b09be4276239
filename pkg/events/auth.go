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
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
)

// SignatureHeader carries an HMAC-SHA256 of the raw request body, hex-encoded, as "sha256=<hex>" (the form
// GitHub uses); relays in front of S3 (Lambda, SNS subscribers) can compute it.
const SignatureHeader = "X-Mlpipe-Signature-256"

// ErrUnauthenticated is returned (wrapped) by Auth.Check for requests without valid credentials.
var ErrUnauthenticated = errors.New("unauthenticated")

// Auth authenticates a notification request. Every configured method must pass; with none configured every
// request is refused.
type Auth struct {
	// Token is the shared token MinIO sends as "Authorization: Bearer <token>" (its webhook auth_token setting).
	// HTTP Basic credentials whose password is the token are accepted too: that is how an SNS HTTPS
	// subscription authenticates (https://user:<token>@host/path as its endpoint).
	Token []byte
	// HMACKey is the key of the HMAC-SHA256 over the raw body sent in SignatureHeader.
	HMACKey []byte
}

// Check authenticates a request with headers h and raw body body. Comparisons are constant-time.
func (a *Auth) Check(h http.Header, body []byte) error {
	if len(a.Token) == 0 && len(a.HMACKey) == 0 {
		return errors.Join(ErrUnauthenticated, errors.New("no token or HMAC key is configured, so every request is refused"))
	}
	if len(a.Token) > 0 {
		got := h.Get("Authorization")
		if got == "" {
			return errors.Join(ErrUnauthenticated, errors.New("missing Authorization header (want: Bearer <token>)"))
		}
		if tok, ok := strings.CutPrefix(got, "Bearer "); ok {
			if subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), a.Token) != 1 {
				return errors.Join(ErrUnauthenticated, errors.New("wrong bearer token"))
			}
		} else if _, pass, ok := (&http.Request{Header: http.Header{"Authorization": {got}}}).BasicAuth(); ok {
			if subtle.ConstantTimeCompare([]byte(pass), a.Token) != 1 {
				return errors.Join(ErrUnauthenticated, errors.New("wrong password in the Basic credentials (want the token)"))
			}
		} else {
			return errors.Join(ErrUnauthenticated, errors.New("the Authorization header is neither a Bearer token nor Basic credentials"))
		}
	}
	if len(a.HMACKey) > 0 {
		sig := h.Get(SignatureHeader)
		if sig == "" {
			return errors.Join(ErrUnauthenticated, errors.New("missing "+SignatureHeader+" header (want: sha256=<hex HMAC of the body>)"))
		}
		hexSig, ok := strings.CutPrefix(sig, "sha256=")
		got, err := hex.DecodeString(hexSig)
		if !ok || err != nil {
			return errors.Join(ErrUnauthenticated, errors.New("malformed "+SignatureHeader+" header (want: sha256=<hex>)"))
		}
		if !hmac.Equal(got, Sign(a.HMACKey, body)) {
			return errors.Join(ErrUnauthenticated, errors.New("the body's HMAC-SHA256 signature does not match"))
		}
	}
	return nil
}

// Sign returns the HMAC-SHA256 of body under key.
func Sign(key, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(body)
	return m.Sum(nil)
}

// SignatureValue returns the SignatureHeader value for body under key.
func SignatureValue(key, body []byte) string {
	return "sha256=" + hex.EncodeToString(Sign(key, body))
}
