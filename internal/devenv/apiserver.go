package devenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"k8s.io/client-go/rest"
)

// apiServerProcess is a kube-apiserver that RestartAPIServer started: envtest
// neither knows of it nor stops it.
type apiServerProcess struct {
	cmd  *exec.Cmd
	done chan struct{}
	// log is the end of its output, to say why it did not come up.
	log *tailBuffer
}

// RestartAPIServer kills kube-apiserver at once, as a crash would, keeps it
// down for downtime, and starts it again with the very same command line:
// the same port, certificates and etcd, so every client's configuration
// still holds and, etcd having kept running, nothing is lost. It returns once
// the new server is ready.
//
// envtest cannot do this itself: its Stop removes the certificates and its
// Start picks a new port. The first kube-apiserver is envtest's child, found
// by its certificate folder among the running processes (so this needs
// Linux's /proc); later ones are this package's.
func (c *ControlPlane) RestartAPIServer(ctx context.Context, downtime time.Duration) error {
	var argv []string
	if p := c.apiserver; p != nil {
		argv = p.cmd.Args
		p.kill()
	} else {
		pid, args, err := findProcess(c.env.ControlPlane.APIServer.Path, "--cert-dir="+c.env.ControlPlane.APIServer.CertDir)
		if err != nil {
			return fmt.Errorf("cannot find kube-apiserver: %w", err)
		}
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			return fmt.Errorf("cannot kill kube-apiserver (pid %d): %w", pid, err)
		}
		// envtest waits on its child; once it has, the port is free.
		if err := waitGone(ctx, pid); err != nil {
			return err
		}
		argv = args
	}
	select {
	case <-time.After(downtime):
	case <-ctx.Done():
		return ctx.Err()
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	// Its own process group, as envtest does, so that a terminal's Ctrl-C
	// reaches the test and not the server behind its back.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p := &apiServerProcess{cmd: cmd, done: make(chan struct{}), log: &tailBuffer{max: 4 << 10}}
	cmd.Stdout, cmd.Stderr = p.log, p.log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("cannot start kube-apiserver again: %w", err)
	}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	c.apiserver = p
	if err := waitReady(ctx, c.Config, p.done); err != nil {
		return fmt.Errorf("%w; its output ends:\n%s", err, p.log)
	}
	return nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append([]byte{}, t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

// stopRestartedAPIServer stops a kube-apiserver RestartAPIServer started,
// before envtest stops etcd under it.
func (c *ControlPlane) stopRestartedAPIServer() {
	if c.apiserver != nil {
		c.apiserver.kill()
		c.apiserver = nil
	}
}

func (p *apiServerProcess) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// findProcess finds the running process whose argv[0] is bin and which has
// the argument marker, and returns its pid and command line.
func findProcess(bin, marker string) (int, []string, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, nil, err
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		raw, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(raw) == 0 {
			continue
		}
		var args []string
		for _, a := range bytes.Split(bytes.TrimSuffix(raw, []byte{0}), []byte{0}) {
			args = append(args, string(a))
		}
		if args[0] == bin && slices.Contains(args, marker) {
			return pid, args, nil
		}
	}
	return 0, nil, fmt.Errorf("no process %s with %s", bin, marker)
}

// waitGone waits until pid has been reaped.
func waitGone(ctx context.Context, pid int) error {
	deadline := time.Now().Add(time.Minute)
	for {
		if _, err := os.Stat(filepath.Join("/proc", strconv.Itoa(pid))); errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("kube-apiserver (pid %d) did not exit within a minute of SIGKILL", pid)
		}
		select {
		case <-time.After(50 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// waitReady polls /readyz as an administrator until the server is ready,
// it exits, or two minutes pass (a cold start on a loaded machine is slow).
func waitReady(ctx context.Context, cfg *rest.Config, exited <-chan struct{}) error {
	client, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return err
	}
	client.Timeout = 5 * time.Second
	deadline := time.Now().Add(2 * time.Minute)
	var last string
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(cfg.Host, "/")+"/readyz", nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			last = err.Error()
		} else {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Sprintf("%s: %s", resp.Status, body)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("kube-apiserver was not ready within two minutes of its restart (/readyz: %s)", last)
		}
		select {
		case <-exited:
			return errors.New("kube-apiserver exited as it restarted")
		case <-time.After(200 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
