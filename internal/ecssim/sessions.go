package ecssim

import (
	"strings"
	"time"
)

// SessionSelector picks issued STS sessions: by AccessKeyId, by role ARN
// (any case), both, or, when empty, all of them. Keys from the Config are
// never sessions.
type SessionSelector struct {
	AccessKeyID string `json:"accessKeyId,omitempty"`
	Role        string `json:"role,omitempty"`
}

func (sel SessionSelector) matches(id string, c credential) bool {
	return c.session != nil && (sel.AccessKeyID == "" || sel.AccessKeyID == id) &&
		(sel.Role == "" || strings.EqualFold(sel.Role, c.session.roleARN))
}

// SetSTS replaces the STS options; sessions issued before keep their
// expiry.
func (s *Simulator) SetSTS(o STSOptions) error {
	if err := o.Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sts = o
	return nil
}

// STS returns the STS options in force.
func (s *Simulator) STS() STSOptions {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sts
}

// ExpireSessions makes the selected sessions stop working after, unless
// they end sooner, and returns how many it shortened; ECS and STS then
// answer InvalidSecurityToken.Expired, as when a session runs out early.
// The metadata surface hands out a new session in place of an expired one.
func (s *Simulator) ExpireSessions(sel SessionSelector, after time.Duration) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	at := s.clock().Add(after)
	n := 0
	for id, c := range s.keys {
		if sel.matches(id, c) && at.Before(*c.key.Expiration) {
			c.key.Expiration = &at
			s.keys[id] = c
			n++
		}
	}
	return n
}

// RevokeSessions forgets the selected sessions and returns how many;
// their callers hear InvalidAccessKeyId.NotFound, as for a deleted key.
func (s *Simulator) RevokeSessions(sel SessionSelector) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for id, c := range s.keys {
		if sel.matches(id, c) {
			delete(s.keys, id)
			n++
		}
	}
	return n
}
