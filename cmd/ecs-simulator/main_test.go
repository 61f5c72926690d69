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
)

// TestDemoRoundTrip runs the built binary as a user would, with no state
// file, and makes the README's DescribeImageSharePermission call against the
// demo tenant.
func TestDemoRoundTrip(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "ecs-simulator")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "--listen", "127.0.0.1:0")
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

	c, err := ecs.NewClient(&openapi.Config{
		AccessKeyId: tea.String(key.ID), AccessKeySecret: tea.String(key.Secret),
		Endpoint: tea.String(addr), Protocol: tea.String("http"),
		ReadTimeout: tea.Int(5000), ConnectTimeout: tea.Int(2000),
	})
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
