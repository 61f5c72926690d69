package ecssim

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The ECS instance metadata surface (100.100.100.200 on a real instance) in
// its hardened mode: every read needs a token from PUT /latest/api/token, so
// a client that falls back to IMDSv1 is caught.
const (
	metadataTokenHeader    = "X-aliyun-ecs-metadata-token"
	metadataTTLHeader      = "X-aliyun-ecs-metadata-token-ttl-seconds"
	maxMetadataTokenTTL    = 21600
	metadataCredentialPath = "/latest/meta-data/ram/security-credentials/"
	// maxMetadataTokens bounds the live tokens remembered; past it an
	// arbitrary one is forgotten, which a client survives by asking again.
	maxMetadataTokens = 10000
)

// metadataState is the instance and what its metadata service remembers.
// It is guarded by the Simulator's mutex.
type metadataState struct {
	instance *Instance
	tokens   map[string]time.Time // token -> expiry
	// served is the AccessKeyId of the role session handed out last.
	served string
}

func newMetadataState(in *Instance) metadataState {
	m := metadataState{tokens: map[string]time.Time{}}
	if in != nil {
		cp := *in
		if cp.ID == "" {
			cp.ID = DefaultInstanceID
		}
		m.instance = &cp
	}
	return m
}

func (s *Simulator) registerMetadata(mux *http.ServeMux) {
	mux.HandleFunc("PUT /latest/api/token", s.metadataHandler("MetadataToken", (*Simulator).metadataToken))
	mux.HandleFunc("GET "+metadataCredentialPath+"{$}", s.metadataHandler("MetadataRoleName", (*Simulator).metadataRoleName))
	mux.HandleFunc("GET "+metadataCredentialPath+"{role}", s.metadataHandler("MetadataCredentials", (*Simulator).metadataCredentials))
}

// metadataAnswer is a status and a body: a string is sent as text, anything
// else as JSON.
type metadataAnswer struct {
	status int
	body   any
}

func metadataError(status int, msg string) metadataAnswer {
	return metadataAnswer{status: status, body: strconv.Itoa(status) + " - " + http.StatusText(status) + ": " + msg}
}

// metadataHandler serves one metadata route under the state lock, counts it
// as action and logs it, never with the token or credentials.
func (s *Simulator) metadataHandler(action string, serve func(*Simulator, *http.Request, time.Time) metadataAnswer) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, maxBodyBytes))
		s.mu.Lock()
		a := serve(s, r, s.clock())
		outcome := "Success"
		if a.status != http.StatusOK {
			outcome = strings.ReplaceAll(http.StatusText(a.status), " ", "")
		}
		s.calls.add(Call{Action: action, Outcome: outcome, UserAgent: r.Header.Get("User-Agent")})
		s.mu.Unlock()

		if text, ok := a.body.(string); ok {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(a.status)
			_, _ = io.WriteString(w, text)
		} else {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(a.status)
			_ = json.NewEncoder(w).Encode(a.body) // A client that went away cannot be answered; nothing to do.
		}
		s.logger.Info("metadata call", "action", action, "outcome", outcome, "status", a.status)
	}
}

func (s *Simulator) metadataToken(r *http.Request, now time.Time) metadataAnswer {
	ttl, err := strconv.Atoi(r.Header.Get(metadataTTLHeader))
	if err != nil || ttl < 1 || ttl > maxMetadataTokenTTL {
		return metadataError(http.StatusBadRequest, metadataTTLHeader+" must be 1.."+strconv.Itoa(maxMetadataTokenTTL)+" seconds")
	}
	m := &s.metadata
	for t, exp := range m.tokens {
		if !now.Before(exp) || len(m.tokens) >= maxMetadataTokens {
			delete(m.tokens, t)
		}
	}
	token := randomToken(32)
	m.tokens[token] = now.Add(time.Duration(ttl) * time.Second)
	return metadataAnswer{status: http.StatusOK, body: token}
}

// instanceRole checks the token and finds the instance's role.
func (s *Simulator) instanceRole(r *http.Request, now time.Time) (Role, *metadataAnswer) {
	exp, ok := s.metadata.tokens[r.Header.Get(metadataTokenHeader)]
	if !ok || !now.Before(exp) {
		a := metadataError(http.StatusUnauthorized, "a live token from PUT /latest/api/token must be sent in "+metadataTokenHeader)
		return Role{}, &a
	}
	in := s.metadata.instance
	if in == nil {
		a := metadataError(http.StatusNotFound, "the instance has no RAM role")
		return Role{}, &a
	}
	return s.roles[strings.ToLower(in.RoleARN)], nil
}

func (s *Simulator) metadataRoleName(r *http.Request, now time.Time) metadataAnswer {
	role, refused := s.instanceRole(r, now)
	if refused != nil {
		return *refused
	}
	return metadataAnswer{status: http.StatusOK, body: role.Name}
}

type metadataCredentials struct {
	AccessKeyID     string `json:"AccessKeyId"`
	AccessKeySecret string `json:"AccessKeySecret"`
	Expiration      string `json:"Expiration"`
	SecurityToken   string `json:"SecurityToken"`
	LastUpdated     string `json:"LastUpdated"`
	Code            string `json:"Code"`
}

// metadataCredentials hands out a session of the instance's role. As on a
// real instance, the same session is served until less than half its
// lifetime remains (or it was revoked), then a new one; a session lasts the
// role's maximum session duration, capped by STSOptions.SessionLifetime.
func (s *Simulator) metadataCredentials(r *http.Request, now time.Time) metadataAnswer {
	role, refused := s.instanceRole(r, now)
	if refused != nil {
		return *refused
	}
	if !strings.EqualFold(r.PathValue("role"), role.Name) {
		return metadataError(http.StatusNotFound, "the instance's RAM role has another name")
	}
	c, ok := s.keys[s.metadata.served]
	if !ok || c.session == nil || c.key.Expiration.Sub(now) < c.session.lifetime/2 {
		c = s.issue(role, s.metadata.instance.ID, time.Duration(role.sessionSeconds())*time.Second, now)
		s.metadata.served = c.key.ID
	}
	return metadataAnswer{status: http.StatusOK, body: metadataCredentials{
		AccessKeyID: c.key.ID, AccessKeySecret: c.key.Secret, SecurityToken: c.key.SecurityToken,
		Expiration:  c.key.Expiration.Format(timeLayout),
		LastUpdated: c.session.issued.UTC().Format(timeLayout),
		Code:        "Success",
	}}
}
