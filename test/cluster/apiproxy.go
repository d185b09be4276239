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
package cluster

import (
	"fmt"
	"io"
	"net"
	"os/exec"
	"strconv"
	"sync"
)

// Pods reach the API server the way they do in any cluster: the kubelet gives every container
// KUBERNETES_SERVICE_HOST/PORT, the address of the `kubernetes` Service (the first of the Service range, port
// 443). No kube-proxy runs here, so the harness makes that address its own: it adds it to the loopback interface
// (Pods route to it through the bridge's gateway) and forwards its port 443 to kube-apiserver. TLS passes
// through untouched; the serving certificate names the address.

// startServiceProxy adds the Service address to lo and forwards serviceIP:443 to kube-apiserver's port.
func (c *Cluster) startServiceProxy(apiPort int) error {
	if out, err := exec.Command("ip", "addr", "add", c.serviceIP+"/32", "dev", "lo").CombinedOutput(); err != nil {
		return fmt.Errorf("error adding %s to lo: %v: %s", c.serviceIP, err, out)
	}
	l, err := net.Listen("tcp", net.JoinHostPort(c.serviceIP, "443"))
	if err != nil {
		return fmt.Errorf("error listening on the kubernetes Service address: %w", err)
	}
	c.serviceProxy = l
	target := "127.0.0.1:" + strconv.Itoa(apiPort)
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go forward(conn, target)
		}
	}()
	return nil
}

// forward copies a connection both ways to target.
func forward(conn net.Conn, target string) {
	defer conn.Close()
	up, err := net.Dial("tcp", target)
	if err != nil {
		return
	}
	defer up.Close()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _, _ = io.Copy(up, conn); closeWrite(up) }()
	go func() { defer wg.Done(); _, _ = io.Copy(conn, up); closeWrite(conn) }()
	wg.Wait()
}

func closeWrite(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
}
