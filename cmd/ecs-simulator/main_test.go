package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	ecs "github.com/alibabacloud-go/ecs-20140526/v4/client"
	"github.com/alibabacloud-go/tea/tea"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/testpki"
)

// TestDemoRoundTrip runs the built binary as a user would, with no state
// file, over http and over https with a test CA, and makes the README's
// DescribeImageSharePermission call against the demo tenant.
func TestDemoRoundTrip(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "ecs-simulator")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ca, err := testpki.NewCA("ecs-simulator test CA")
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := ca.Issue("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	cert, key := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	for f, b := range map[string][]byte{cert: certPEM, key: keyPEM} {
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("http", func(t *testing.T) { roundTrip(t, bin, &openapi.Config{Protocol: tea.String("http")}) })
	t.Run("https", func(t *testing.T) {
		roundTrip(t, bin, &openapi.Config{Protocol: tea.String("https"), Ca: tea.String(string(ca.PEM))}, "--tls-cert", cert, "--tls-key", key)
	})
}

// roundTrip starts bin with args, calls it with an SDK client configured by
// sdkCfg, and stops it.
func roundTrip(t *testing.T, bin string, sdkCfg *openapi.Config, args ...string) {
	cmd := exec.Command(bin, append([]string{"--listen", "127.0.0.1:0"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	lines := bufio.NewScanner(stdout)
	if !lines.Scan() {
		t.Fatal("no output")
	}
	addr, ok := strings.CutPrefix(lines.Text(), "ecs-simulator listening on ")
	if !ok {
		t.Fatalf("first line %q does not give the address", lines.Text())
	}
	var banner strings.Builder
	for !strings.Contains(banner.String(), "m-foreign01") && lines.Scan() {
		banner.WriteString(lines.Text() + "\n")
	}
	demo := ecssim.DemoConfig()
	key := demo.Accounts[0].AccessKeys[0]
	if !strings.Contains(banner.String(), key.ID) {
		t.Errorf("start-up banner does not show the demo tenant:\n%s", banner.String())
	}
	go func() { // keep the pipe drained
		for lines.Scan() {
		}
	}()

	sdkCfg.AccessKeyId, sdkCfg.AccessKeySecret = tea.String(key.ID), tea.String(key.Secret)
	sdkCfg.Endpoint, sdkCfg.ReadTimeout, sdkCfg.ConnectTimeout = tea.String(addr), tea.Int(5000), tea.Int(2000)
	c, err := ecs.NewClient(sdkCfg)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.DescribeImageSharePermission(&ecs.DescribeImageSharePermissionRequest{
		RegionId: tea.String("cn-hangzhou"), ImageId: tea.String("m-demo0001"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := tea.Int32Value(resp.Body.TotalCount); n != 1 || tea.StringValue(resp.Body.Accounts.Account[0].AliyunId) != "2222222222222222" {
		t.Errorf("demo image shares: %s", resp.Body)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("did not stop within 10s of SIGTERM")
	}
}
