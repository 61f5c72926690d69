package chaos

import (
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/devenv"
)

// supervisor runs the provider binary as a kubelet would: it restarts it
// when it exits on its own, and records every start, so that the run can
// tell a crash from the kills it makes itself.
type supervisor struct {
	args    []string
	logPath string

	mu       sync.Mutex
	p        *devenv.Provider
	starts   []time.Time
	crashes  []string // how each unexpected exit ended
	stopping bool
	done     chan struct{}
}

func newSupervisor(logPath string, args ...string) *supervisor {
	return &supervisor{args: args, logPath: logPath, done: make(chan struct{})}
}

// start starts the provider and watches it.
func (s *supervisor) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	p, err := devenv.StartProvider(bin, cp.Kubeconfig, f, s.args...)
	if err != nil {
		_ = f.Close()
		return err
	}
	s.p = p
	s.starts = append(s.starts, time.Now())
	go s.watch(p, f)
	return nil
}

// watch restarts p if it exits while nobody killed it, after a second, as
// a crash-looping pod's first restart would.
func (s *supervisor) watch(p *devenv.Provider, f *os.File) {
	<-p.Done()
	_ = f.Close()
	s.mu.Lock()
	expected := s.stopping || s.p != p
	if !expected {
		s.crashes = append(s.crashes, fmt.Sprint(p.Err()))
		s.p = nil
	}
	s.mu.Unlock()
	if expected {
		return
	}
	select {
	case <-time.After(time.Second):
		_ = s.start()
	case <-s.done:
	}
}

// kill SIGKILLs the provider, as a node failure or an OOM kill would.
func (s *supervisor) kill() {
	s.mu.Lock()
	p := s.p
	s.p = nil
	s.mu.Unlock()
	if p != nil {
		p.Kill()
	}
}

// stop ends the provider for good.
func (s *supervisor) stop() {
	s.mu.Lock()
	s.stopping = true
	p := s.p
	s.mu.Unlock()
	close(s.done)
	if p != nil {
		_ = p.Stop(10 * time.Second)
	}
}

func (s *supervisor) history() (starts []time.Time, crashes []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time{}, s.starts...), append([]string{}, s.crashes...)
}

// logTail is the end of the provider's log, for a failure report.
func (s *supervisor) logTail(n int) string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return err.Error()
	}
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
