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

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/devenv"
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
	cmd := exec.Command(buildDev(t, work), "--sim-listen", "127.0.0.1:0", "--poll", "2s", "--out", work)
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

	// The kubeconfig is printed first, the simulator's URL last.
	kubeconfigs, simURLs := make(chan string, 1), make(chan string, 1)
	go func() {
		lines := bufio.NewScanner(stdout)
		for lines.Scan() {
			line := strings.TrimSpace(lines.Text())
			if path, ok := strings.CutPrefix(line, "export KUBECONFIG="); ok {
				kubeconfigs <- path
			}
			if _, url, ok := strings.Cut(line, ") is at "); ok && strings.HasPrefix(line, "The ECS simulator") {
				simURLs <- strings.TrimSuffix(url, ":")
			}
		}
	}()
	var kubeconfig, simURL string
	timeout := time.After(3 * time.Minute)
	for kubeconfig == "" || simURL == "" {
		select {
		case kubeconfig = <-kubeconfigs:
		case simURL = <-simURLs:
		case <-timeout:
			t.Fatal("dev did not come up within 3 minutes")
		}
	}

	kubectl := func(stdin string, args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		c := exec.CommandContext(ctx, filepath.Join(assets, "kubectl"), args...)
		c.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
		c.Stdin = strings.NewReader(stdin)
		out, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	kubectl("", "apply", "-f", "../../examples/namespaced/imagesharepermission.yaml")
	kubectl("", "wait", "--for=condition=Ready", "--timeout=90s", "imagesharepermissions.ecs.alibabacloud.m.crossplane.io/demo-share", "-n", "default")

	// The assume-role example, as dev prints it: the partner's image can
	// only be shared by a session of the partner's role.
	kubectl("", "apply", "-f", "../../examples/namespaced/secret.yaml")
	pc := kubectl("", "patch", "--local", "-f", "../../examples/namespaced/providerconfig-assumerole.yaml", "--type=merge", "-o", "yaml",
		"-p", `{"spec":{"endpoint":"`+simURL+`","stsEndpoint":"`+simURL+`"}}`)
	kubectl(pc, "apply", "-f", "-")
	kubectl("", "apply", "-f", "../../examples/namespaced/imagesharepermission-assumerole.yaml")
	kubectl("", "wait", "--for=condition=Ready", "--timeout=90s", "imagesharepermissions.ecs.alibabacloud.m.crossplane.io/partner-share", "-n", "default")
	kubectl("", "wait", "--for=condition=Authenticated", "--timeout=90s", "providerconfigs.alibabacloud.m.crossplane.io/partner", "-n", "default")
	if got, want := kubectl("", "get", "providerconfigs.alibabacloud.m.crossplane.io", "partner", "-n", "default", "-o", "jsonpath={.status.identity.arn}"),
		"acs:ram::4444444444444444:assumed-role/image-sharer/crossplane-provider-alibabacloud-ecs"; got != want {
		t.Errorf("the assume-role example acts as %q, want %q", got, want)
	}

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

// buildDev builds this program into dir, as `make dev` does.
func buildDev(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "dev")
	if err := devenv.GoBuild(t.Context(), ".", bin, "."); err != nil {
		t.Fatal(err)
	}
	return bin
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
