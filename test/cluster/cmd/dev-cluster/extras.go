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
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/mlpipe/mlpipe/test/cluster"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// chooseNode decides between the real node and the stand-in, and says why when it is the stand-in.
func chooseNode(mode string, tools cluster.Tools) (real bool, why string) {
	switch mode {
	case "stand-in":
		return false, "-node=stand-in"
	case "real":
		if err := cluster.RealNodeUnavailable(tools); err != nil {
			log.Fatalf("-node=real: %v", err)
		}
		return true, ""
	case "auto":
		if err := cluster.RealNodeUnavailable(tools); err != nil {
			return false, err.Error()
		}
		return true, ""
	}
	log.Fatalf("-node=%q: want auto, real or stand-in", mode)
	return false, ""
}

// startExtras starts MinIO (on this machine's address with a real node, so Pods reach it) and an alert receiver
// that logs every alert, creates the namespaces with the Secrets the generated Tasks read (mlpipe-s3,
// mlpipe-alert), and returns the environment to export.
func startExtras(ctx context.Context, c *cluster.Cluster, real, withMinIO bool, minioDir string, namespaces []string) ([][2]string, func(), error) {
	host := "127.0.0.1"
	if real {
		host = c.HostIP
	}
	env := [][2]string{
		{"KUBECONFIG", c.Kubeconfig},
		{"PATH", filepath.Dir(c.Tools.Kubectl) + ":" + filepath.Dir(c.Tools.Tkn)}, // prepended: see exportLine
	}
	if real {
		env = append(env, [2]string{"MLPIPE_STEP_IMAGE", c.Images.Step.Ref})
	}
	var stops []func()
	stop := func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	alertURL, stopAlerts, err := startAlertLog(host)
	if err != nil {
		return nil, stop, err
	}
	stops = append(stops, stopAlerts)
	secrets := []*corev1.Secret{{ObjectMeta: metav1.ObjectMeta{Name: "mlpipe-alert"}, StringData: map[string]string{"url": alertURL}}}
	if withMinIO && c.Tools.MinIO != "" {
		if _, err := os.Stat(c.Tools.MinIO); err == nil {
			m, stopMinIO, err := cluster.RunMinIO(c.Tools.MinIO, host, 0, minioDir, nil)
			if err != nil {
				return nil, stop, err
			}
			stops = append(stops, stopMinIO)
			for _, b := range []string{"datasets", "models"} {
				if err := m.Client.MakeBucket(ctx, b, minio.MakeBucketOptions{Region: cluster.MinIORegion}); err != nil {
					if exists, _ := m.Client.BucketExists(ctx, b); !exists {
						return nil, stop, fmt.Errorf("error creating bucket %s: %w", b, err)
					}
				}
			}
			env = append(env,
				[2]string{"AWS_ENDPOINT_URL", m.Endpoint},
				[2]string{"MLPIPE_POD_S3_ENDPOINT", m.Endpoint},
				[2]string{"AWS_ACCESS_KEY_ID", cluster.MinIOUser},
				[2]string{"AWS_SECRET_ACCESS_KEY", cluster.MinIOPassword},
				[2]string{"AWS_REGION", cluster.MinIORegion})
			secrets = append(secrets, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "mlpipe-s3"}, StringData: map[string]string{
				"AWS_ACCESS_KEY_ID": cluster.MinIOUser, "AWS_SECRET_ACCESS_KEY": cluster.MinIOPassword}})
			log.Printf("MinIO at %s (buckets datasets, models; data in %s)", m.Endpoint, minioDir)
		}
	}
	for _, ns := range namespaces {
		if _, err := c.CreateNamespace(ctx, ns, false); err != nil {
			return nil, stop, err
		}
		for _, s := range secrets {
			s := s.DeepCopy()
			s.Namespace = ns
			if _, err := c.Kube.CoreV1().Secrets(ns).Create(ctx, s, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
				return nil, stop, fmt.Errorf("error creating Secret %s/%s: %w", ns, s.Name, err)
			}
		}
	}
	return env, stop, nil
}

// startAlertLog serves a webhook on host that logs each alert's text: the URL of the mlpipe-alert Secrets.
func startAlertLog(host string) (string, func(), error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		var m struct{ Text string }
		if json.Unmarshal(body, &m) == nil && m.Text != "" {
			log.Printf("alert: %s", m.Text)
		} else {
			log.Printf("alert (not JSON): %s", body)
		}
	})}
	go func() { _ = srv.Serve(l) }()
	return "http://" + l.Addr().String() + "/alert", func() { _ = srv.Close() }, nil
}

// writeEnv writes export lines, atomically: a reader sees no file or the whole of it.
func writeEnv(path string, env [][2]string) error {
	var b strings.Builder
	for _, kv := range env {
		b.WriteString(exportLine(kv) + "\n")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// exportLine is `export NAME='value'`; PATH's value is prepended to the PATH of the shell that reads it.
func exportLine(kv [2]string) string {
	if kv[0] == "PATH" {
		return "export PATH=" + shellQuote(kv[1]) + `:"$PATH"`
	}
	return "export " + kv[0] + "=" + shellQuote(kv[1])
}

// shellQuote quotes a value for a POSIX shell.
func shellQuote(v string) string {
	return "'" + strings.ReplaceAll(v, "'", `'\''`) + "'"
}
