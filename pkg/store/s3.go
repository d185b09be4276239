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

package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// s3Store is a Store on an S3 bucket and key prefix (AWS S3 or any S3-compatible server such as MinIO).
type s3Store struct {
	client *minio.Client
	bucket string
	prefix string // "" or ending in "/"
	host   string // endpoint, for error messages
}

var _ Store = (*s3Store)(nil)

// S3Endpoint returns the S3 endpoint host and whether to use TLS, from AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL
// ("http://" means plain HTTP), else s3.amazonaws.com over TLS.
func S3Endpoint() (host string, secure bool, err error) {
	return s3Endpoint(os.Getenv)
}

func s3Endpoint(getenv func(string) string) (host string, secure bool, err error) {
	raw := getenv("AWS_ENDPOINT_URL_S3")
	if raw == "" {
		raw = getenv("AWS_ENDPOINT_URL")
	}
	if raw == "" {
		return "s3.amazonaws.com", true, nil
	}
	if !strings.Contains(raw, "://") {
		return strings.TrimRight(raw, "/"), true, nil
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "", false, fmt.Errorf("invalid S3 endpoint URL %q", raw)
	}
	switch u.Scheme {
	case "http":
		return u.Host, false, nil
	case "https":
		return u.Host, true, nil
	default:
		return "", false, fmt.Errorf("invalid S3 endpoint URL %q: scheme must be http or https", raw)
	}
}

// newS3Store opens bucket/prefix with the endpoint, credentials and region of the AWS_* variables getenv
// returns (os.Getenv in steps).
func newS3Store(_ context.Context, bucket, prefix string, getenv func(string) string) (*s3Store, error) {
	if bucket == "" {
		return nil, errors.New("s3 URI has no bucket (want s3://bucket/prefix)")
	}
	host, secure, err := s3Endpoint(getenv)
	if err != nil {
		return nil, err
	}
	var creds *credentials.Credentials
	if id := getenv("AWS_ACCESS_KEY_ID"); id != "" {
		creds = credentials.NewStaticV4(id, getenv("AWS_SECRET_ACCESS_KEY"), getenv("AWS_SESSION_TOKEN"))
	} else {
		// Shared credentials file, then instance/pod identity (IRSA, EC2 metadata).
		creds = credentials.NewChainCredentials([]credentials.Provider{
			&credentials.FileAWSCredentials{},
			&credentials.IAM{},
		})
	}
	transport := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 2 * time.Minute,
	}
	client, err := minio.New(host, &minio.Options{
		Creds:      creds,
		Secure:     secure,
		Region:     getenv("AWS_REGION"),
		Transport:  transport,
		MaxRetries: 3,
	})
	if err != nil {
		return nil, fmt.Errorf("error creating S3 client for %s: %w", host, err)
	}
	prefix = strings.Trim(prefix, "/")
	if prefix != "" {
		prefix += "/"
	}
	return &s3Store{client: client, bucket: bucket, prefix: prefix, host: host}, nil
}

// URI implements Store.
func (s *s3Store) URI(key string) string {
	if key == "" {
		return strings.TrimSuffix("s3://"+s.bucket+"/"+s.prefix, "/")
	}
	return "s3://" + s.bucket + "/" + s.prefix + key
}

func (s *s3Store) key(key string) (string, error) {
	k, err := cleanKey(key)
	if err != nil {
		return "", err
	}
	return s.prefix + k, nil
}

// wrap turns an S3 error into a readable one that wraps ErrNotExist/ErrExist where they apply.
func (s *s3Store) wrap(op, key string, err error) error {
	resp := minio.ToErrorResponse(err)
	switch {
	case resp.Code == minio.NoSuchKey:
		return fmt.Errorf("%s: %w", s.URI(key), ErrNotExist)
	case resp.Code == minio.NoSuchBucket:
		return fmt.Errorf("error %s %s: bucket %q does not exist: %w", op, s.URI(key), s.bucket, ErrNotExist)
	case resp.Code == minio.PreconditionFailed || resp.StatusCode == http.StatusPreconditionFailed ||
		resp.StatusCode == http.StatusConflict && resp.Code == "ConditionalRequestConflict":
		return fmt.Errorf("%s: %w", s.URI(key), ErrExist)
	}
	return fmt.Errorf("error %s %s (endpoint %s): %w", op, s.URI(key), s.host, err)
}

// Get implements Store.
func (s *s3Store) Get(ctx context.Context, key string) ([]byte, error) {
	k, err := s.key(key)
	if err != nil {
		return nil, err
	}
	obj, err := s.client.GetObject(ctx, s.bucket, k, minio.GetObjectOptions{})
	if err != nil {
		return nil, s.wrap("reading", key, err)
	}
	defer obj.Close()
	data, err := io.ReadAll(obj)
	if err != nil {
		return nil, s.wrap("reading", key, err)
	}
	return data, nil
}

// Open implements Store: the object streams from GetObject; a missing key is reported by the first read, which
// Open makes before it returns.
func (s *s3Store) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	k, err := s.key(key)
	if err != nil {
		return nil, err
	}
	obj, err := s.client.GetObject(ctx, s.bucket, k, minio.GetObjectOptions{})
	if err != nil {
		return nil, s.wrap("reading", key, err)
	}
	if _, err := obj.Stat(); err != nil {
		_ = obj.Close()
		return nil, s.wrap("reading", key, err)
	}
	return &s3Reader{obj: obj, s: s, key: key}, nil
}

// s3Reader is an object being read, its errors made readable.
type s3Reader struct {
	obj *minio.Object
	s   *s3Store
	key string
}

func (r *s3Reader) Read(p []byte) (int, error) {
	n, err := r.obj.Read(p)
	if err != nil && err != io.EOF {
		err = r.s.wrap("reading", r.key, err)
	}
	return n, err
}

func (r *s3Reader) Close() error { return r.obj.Close() }

// PutFile implements Store: a multipart upload for a large file, which, like a single PUT, makes the object
// appear only once it is complete.
func (s *s3Store) PutFile(ctx context.Context, key, path string) error {
	k, err := s.key(key)
	if err != nil {
		return err
	}
	if _, err := s.client.FPutObject(ctx, s.bucket, k, path, minio.PutObjectOptions{ContentType: contentType(key)}); err != nil {
		return s.wrap("writing", key, err)
	}
	return nil
}

func (s *s3Store) put(ctx context.Context, key string, data []byte, exclusive bool) error {
	k, err := s.key(key)
	if err != nil {
		return err
	}
	opts := minio.PutObjectOptions{
		ContentType:      contentType(key),
		DisableMultipart: true, // one PUT: the object appears whole or not at all
	}
	if exclusive {
		opts.SetMatchETagExcept("*") // If-None-Match: * (conditional create)
	}
	if _, err := s.client.PutObject(ctx, s.bucket, k, bytes.NewReader(data), int64(len(data)), opts); err != nil {
		return s.wrap("writing", key, err)
	}
	return nil
}

// Put implements Store.
func (s *s3Store) Put(ctx context.Context, key string, data []byte) error {
	return s.put(ctx, key, data, false)
}

// Create implements Store with a conditional PutObject (If-None-Match: *).
func (s *s3Store) Create(ctx context.Context, key string, data []byte) error {
	return s.put(ctx, key, data, true)
}

// Delete implements Store.
func (s *s3Store) Delete(ctx context.Context, key string) error {
	k, err := s.key(key)
	if err != nil {
		return err
	}
	if err := s.client.RemoveObject(ctx, s.bucket, k, minio.RemoveObjectOptions{}); err != nil {
		if minio.ToErrorResponse(err).Code == minio.NoSuchKey {
			return nil
		}
		return s.wrap("deleting", key, err)
	}
	return nil
}

// List implements Store.
func (s *s3Store) List(ctx context.Context, prefix string) ([]string, error) {
	var keys []string
	for obj := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix + prefix, Recursive: true}) {
		if obj.Err != nil {
			return nil, s.wrap("listing", prefix, obj.Err)
		}
		keys = append(keys, strings.TrimPrefix(obj.Key, s.prefix))
	}
	sort.Strings(keys)
	return keys, nil
}

func contentType(key string) string {
	switch {
	case strings.HasSuffix(key, ".json"):
		return "application/json"
	case strings.HasSuffix(key, ".csv"):
		return "text/csv"
	case strings.HasSuffix(key, ".arrow"):
		return "application/vnd.apache.arrow.file"
	default:
		return "application/octet-stream"
	}
}
