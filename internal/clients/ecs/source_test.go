package ecs_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/credentials"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/ecs"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim/simtest"
)

// queueSource hands out the first of its credentials until ECS refuses
// them, then the next: a session that is replaced once ECS says it ended.
// This is the narrow fake of credentials.Source; the credentials package
// tests the real sources against the simulator's STS.
type queueSource struct {
	mu      sync.Mutex
	queue   []credentials.Credentials
	err     error
	refused []string // AccessKey IDs
	asked   int
}

func (s *queueSource) Credentials(context.Context) (credentials.Credentials, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.asked++
	if s.err != nil {
		return credentials.Credentials{}, s.err
	}
	return s.queue[0], nil
}

func (s *queueSource) Refused(c credentials.Credentials) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refused = append(s.refused, c.AccessKeyID)
	if len(s.queue) > 1 && s.queue[0] == c {
		s.queue = s.queue[1:]
	}
}

func (*queueSource) ID() string { return "test-source" }

func (s *queueSource) set(c ...credentials.Credentials) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queue = c
}

// keysUsed is the AccessKey IDs of the calls of action, in no order, with
// how often each was used.
func keysUsed(sim *ecssim.Simulator, action string) map[string]uint64 {
	return sim.CallsBy(func(c ecssim.Call) string { return c.AccessKeyID }, func(c ecssim.Call) bool { return c.Action == action })
}

func withSource(s credentials.Source) func(*ecs.Config) {
	return func(c *ecs.Config) { c.Credentials, c.Source = credentials.Credentials{}, s }
}

func TestSourceCredentialsPerCall(t *testing.T) {
	sim, srv := simtest.Serve(t, testConfig())
	src := &queueSource{queue: []credentials.Credentials{ownerCreds}}
	c := newClient(t, srv.URL, credentials.Credentials{}, withSource(src))

	if _, err := find(c, imageID, friend); err != nil {
		t.Fatalf("FindShare with the owner's key: %v", err)
	}
	// The source now gives a key that may only read: the next call must be
	// signed with it, though the SDK client of the call slot was used before.
	src.set(readOnlyCreds)
	if _, err := find(c, imageID, friend); err != nil {
		t.Fatalf("FindShare with the read-only key: %v", err)
	}
	err := c.AddAccounts(context.Background(), imageID, stranger)
	if got := codeOf(err); got != ecs.CodeForbiddenRAM {
		t.Errorf("AddAccounts with the read-only key: code %q (%v), want %s", got, err, ecs.CodeForbiddenRAM)
	}
	assertNoSecrets(t, err)
	src.set(stsCreds)
	if err := c.AddAccounts(context.Background(), imageID, stranger); err != nil {
		t.Fatalf("AddAccounts with STS credentials: %v", err)
	}

	want := map[string]uint64{ownerCreds.AccessKeyID: 1, readOnlyCreds.AccessKeyID: 1}
	if diff := cmp.Diff(want, keysUsed(sim, ecs.ActionDescribe)); diff != "" {
		t.Errorf("keys of the Describe calls (-want +got):\n%s", diff)
	}
	want = map[string]uint64{readOnlyCreds.AccessKeyID: 1, stsCreds.AccessKeyID: 1}
	if diff := cmp.Diff(want, keysUsed(sim, ecs.ActionModify)); diff != "" {
		t.Errorf("keys of the Modify calls (-want +got):\n%s", diff)
	}
	if len(src.refused) != 0 {
		t.Errorf("Refused(%v), want no refusal: Forbidden.RAM is not about the session", src.refused)
	}
}

func TestSourceRefusedIsRetriedWithFreshCredentials(t *testing.T) {
	cases := []struct {
		reason      string
		queue       []credentials.Credentials
		wantCode    string
		wantRefused []string
		wantCalls   uint64
	}{
		{
			reason: "an expired session is refused, dropped, and the call made again with the next one",
			queue:  []credentials.Credentials{expiredCreds, stsCreds}, wantRefused: []string{expiredCreds.AccessKeyID}, wantCalls: 2,
		},
		{
			reason: "an unknown (revoked) key is refused and replaced likewise",
			queue:  []credentials.Credentials{unknownKeyCreds, ownerCreds}, wantRefused: []string{unknownKeyCreds.AccessKeyID}, wantCalls: 2,
		},
		{
			reason: "a source with nothing fresher is not asked to repeat the same call",
			queue:  []credentials.Credentials{expiredCreds}, wantCode: "InvalidSecurityToken.Expired",
			wantRefused: []string{expiredCreds.AccessKeyID}, wantCalls: 1,
		},
		{
			reason: "the call is made again once only, and the second refusal is told too",
			queue:  []credentials.Credentials{expiredCreds, unknownKeyCreds, ownerCreds}, wantCode: ecs.CodeAccessKeyNotFound,
			wantRefused: []string{expiredCreds.AccessKeyID, unknownKeyCreds.AccessKeyID}, wantCalls: 2,
		},
		{
			reason: "a wrong secret is not a refusal a new session cures",
			queue:  []credentials.Credentials{wrongSecretCreds, ownerCreds}, wantCode: ecs.CodeSignatureMismatch, wantCalls: 1,
		},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			sim, srv := simtest.Serve(t, testConfig())
			src := &queueSource{queue: tc.queue}
			c := newClient(t, srv.URL, credentials.Credentials{}, withSource(src))
			_, err := find(c, imageID, friend)
			if got := codeOf(err); got != tc.wantCode {
				t.Errorf("FindShare: code %q (%v), want %q", got, err, tc.wantCode)
			}
			assertNoSecrets(t, err)
			if diff := cmp.Diff(tc.wantRefused, src.refused); diff != "" {
				t.Errorf("Refused (-want +got):\n%s", diff)
			}
			if got := sim.Calls(ecs.ActionDescribe); got != tc.wantCalls {
				t.Errorf("Describe called %d times, want %d", got, tc.wantCalls)
			}
			if len(tc.wantRefused) > 0 && tc.wantCode != "" && !strings.Contains(err.Error(), "test-source") {
				t.Errorf("error %q does not name the source", err)
			}
		})
	}
}

func TestSourceErrorMakesNoCall(t *testing.T) {
	sim, srv := simtest.Serve(t, testConfig())
	cause := errors.New("assume-role hop 1 (acs:ram::1:role/x): STS AssumeRole failed")
	c := newClient(t, srv.URL, credentials.Credentials{}, withSource(&queueSource{err: cause}))
	_, err := find(c, imageID, friend)
	if !errors.Is(err, cause) || !strings.Contains(err.Error(), "test-source") {
		t.Errorf("FindShare error = %v, want one wrapping the source's error and naming the source", err)
	}
	if got := sim.Calls(ecs.ActionDescribe); got != 0 {
		t.Errorf("Describe called %d times without credentials", got)
	}
}

// TestSourceConcurrentRotation has calls in parallel while the source's
// credentials change under them: run with -race, it shows that setting each
// call's credentials on its slot's SDK client races with no other call.
func TestSourceConcurrentRotation(t *testing.T) {
	_, srv := simtest.Serve(t, testConfig())
	src := &queueSource{queue: []credentials.Credentials{ownerCreds}}
	c := newClient(t, srv.URL, credentials.Credentials{}, withSource(src))
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 40 {
		wg.Go(func() {
			if i%10 == 0 {
				src.set([]credentials.Credentials{ownerCreds, stsCreds}[i/10%2])
			}
			_, err := find(c, imageID, friend)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("FindShare: %v", err)
		}
	}
}

func TestSourceConfig(t *testing.T) {
	src := &queueSource{queue: []credentials.Credentials{ownerCreds}}
	_, err := ecs.New(ecs.Config{Region: region, Credentials: ownerCreds, Source: src})
	if err == nil || !strings.Contains(err.Error(), "not both") {
		t.Errorf("New with credentials and a source: %v, want an error saying not both", err)
	}
	if _, err := ecs.New(ecs.Config{Region: region, Source: src}); err != nil {
		t.Errorf("New with a source alone: %v", err)
	}
	if src.asked != 0 {
		t.Errorf("New asked the source %d times, want 0: it makes no call", src.asked)
	}
	base := ecs.Config{Region: region, Source: src}
	other := base
	other.Source = namedSource{src, "other-source"}
	if base.Fingerprint() == other.Fingerprint() {
		t.Error("two sources with different IDs have one fingerprint")
	}
	src.set(stsCreds)
	if fp := base.Fingerprint(); fp != (ecs.Config{Region: region, Source: src}).Fingerprint() {
		t.Error("the fingerprint changed with the source's credentials, which rotate")
	}
}

type namedSource struct {
	*queueSource
	id string
}

func (n namedSource) ID() string { return n.id }
