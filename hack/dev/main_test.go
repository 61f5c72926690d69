package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDev runs `make dev`'s program as a person would: it comes up, an
// example becomes READY through the kubectl it points at, and Ctrl-C
// (SIGINT) stops everything it started.
func TestDev(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a control plane")
	}
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		t.Fatal("KUBEBUILDER_ASSETS is not set: run `make test`")
	}
	work := t.TempDir()
	bin := filepath.Join(work, "dev")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "--sim-listen", "127.0.0.1:0", "--poll", "2s", "--out", work)
	// Its own session, so that what it leaves behind can be found.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })

	up := make(chan string, 1)
	go func() {
		lines := bufio.NewScanner(stdout)
		for lines.Scan() {
			if path, ok := strings.CutPrefix(strings.TrimSpace(lines.Text()), "export KUBECONFIG="); ok {
				up <- path
			}
		}
	}()
	var kubeconfig string
	select {
	case kubeconfig = <-up:
	case <-time.After(3 * time.Minute):
		t.Fatal("dev did not come up within 3 minutes")
	}

	kubectl := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		c := exec.CommandContext(ctx, filepath.Join(assets, "kubectl"), args...)
		c.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
		out, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	kubectl("apply", "-f", "../../examples/namespaced/imagesharepermission.yaml")
	kubectl("wait", "--for=condition=Ready", "--timeout=90s", "imagesharepermissions.ecs.alibabacloud.m.crossplane.io/demo-share", "-n", "default")

	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("dev exited with %v after Ctrl-C, want a clean exit", err)
		}
	case <-time.After(90 * time.Second):
		t.Fatal("dev did not stop within 90s of Ctrl-C")
	}
	if left := inSession(t, cmd.Process.Pid); len(left) > 0 {
		t.Errorf("processes left running after Ctrl-C: %v", left)
	}
}

// inSession lists the processes whose session is sid, by their command name.
func inSession(t *testing.T, sid int) []string {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // gone meanwhile
		}
		// pid (comm) state ppid pgrp session ...: comm may hold spaces, so
		// split after its closing parenthesis.
		s := string(stat)
		end := strings.LastIndexByte(s, ')')
		fields := strings.Fields(s[end+1:])
		if len(fields) > 3 && fields[3] == strconv.Itoa(sid) {
			out = append(out, s[strings.IndexByte(s, '(')+1:end])
		}
	}
	return out
}
