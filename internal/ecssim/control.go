package ecssim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// ControlPrefix is where the control API lives, beside the ECS surface at "/".
// It is unauthenticated: bind the simulator to loopback.
//
//	GET    /_sim/healthz                          200 when serving
//	POST   /_sim/reset                            back to the seed state; counters, nonces, buckets cleared
//	PUT    /_sim/state                            replace the whole state (and the seed) with a Config
//	POST   /_sim/accounts                         add an Account
//	POST   /_sim/images                           create or replace an Image, with its shares
//	DELETE /_sim/images/{region}/{id}             delete an image
//	PUT    /_sim/images/{region}/{id}/status      {"status": "Deprecated"}
//	GET    /_sim/images/{region}/{id}/shares      {"accounts": [...]}: the true shares, oldest first
//	POST   /_sim/images/{region}/{id}/shares      {"accounts": [...]}: share out of band
//	DELETE /_sim/images/{region}/{id}/shares/{account}  unshare out of band (drift)
//	GET    /_sim/faults, PUT /_sim/faults         read or replace the Faults: seed, latency, jitter,
//	                                              errorRate, errorCode, visibilityLag, rateLimits,
//	                                              hangRate and hangFor (answers held past a client's timeout)
//	GET    /_sim/counters                         {"Action": {"Outcome": calls}}
//	GET    /_sim/calls?by=<group>                 {"<value>": calls}, by action, outcome, accessKeyId,
//	                                              principal, image (region/id) or userAgent
//	DELETE /_sim/counters                         zero the counters (all of them)
//	POST   /_sim/oidc/token                       {"provider": ARN, "subject", "audience"?, "ttl"?: "1h"}
//	                                              -> {"token": JWT}: MintOIDCToken (ttl may be negative)
//	GET    /_sim/sts, PUT /_sim/sts               read or replace the STSOptions: {"sessionLifetime": "30s"}
//	POST   /_sim/sts/expire                       {"accessKeyId"?, "role"? (ARN), "after": "0s"}
//	                                              -> {"sessions": n}: ExpireSessions
//	POST   /_sim/sts/revoke                       {"accessKeyId"?, "role"?} -> {"sessions": n}: RevokeSessions
const ControlPrefix = "/_sim/"

type accountsDoc struct {
	Accounts []string `json:"accounts"`
}

func (s *Simulator) registerControl(mux *http.ServeMux) {
	p := ControlPrefix
	mux.HandleFunc("GET "+p+"healthz", func(w http.ResponseWriter, _ *http.Request) { reply(w, nil, nil) })
	mux.HandleFunc("POST "+p+"reset", func(w http.ResponseWriter, _ *http.Request) { s.Reset(); reply(w, nil, nil) })
	mux.HandleFunc("PUT "+p+"state", withBody(func(c Config) error { return s.Load(c) }))
	mux.HandleFunc("POST "+p+"accounts", withBody(s.AddAccount))
	mux.HandleFunc("POST "+p+"images", withBody(s.PutImage))
	mux.HandleFunc("DELETE "+p+"images/{region}/{id}", func(w http.ResponseWriter, r *http.Request) {
		reply(w, nil, s.DeleteImage(r.PathValue("region"), r.PathValue("id")))
	})
	mux.HandleFunc("PUT "+p+"images/{region}/{id}/status", func(w http.ResponseWriter, r *http.Request) {
		withBody(func(d struct {
			Status string `json:"status"`
		}) error {
			return s.SetImageStatus(r.PathValue("region"), r.PathValue("id"), d.Status)
		})(w, r)
	})
	mux.HandleFunc("GET "+p+"images/{region}/{id}/shares", func(w http.ResponseWriter, r *http.Request) {
		accounts, err := s.SharedWith(r.PathValue("region"), r.PathValue("id"))
		reply(w, accountsDoc{Accounts: append([]string{}, accounts...)}, err)
	})
	mux.HandleFunc("POST "+p+"images/{region}/{id}/shares", func(w http.ResponseWriter, r *http.Request) {
		withBody(func(d accountsDoc) error {
			return s.Share(r.PathValue("region"), r.PathValue("id"), true, d.Accounts...)
		})(w, r)
	})
	mux.HandleFunc("DELETE "+p+"images/{region}/{id}/shares/{account}", func(w http.ResponseWriter, r *http.Request) {
		reply(w, nil, s.Share(r.PathValue("region"), r.PathValue("id"), false, r.PathValue("account")))
	})
	mux.HandleFunc("POST "+p+"families/{region}/{family}/versions", func(w http.ResponseWriter, r *http.Request) {
		answering(func(im Image) (any, error) {
			return s.PublishVersion(r.PathValue("region"), r.PathValue("family"), im)
		})(w, r)
	})
	mux.HandleFunc("GET "+p+"faults", func(w http.ResponseWriter, _ *http.Request) { reply(w, s.Faults(), nil) })
	mux.HandleFunc("PUT "+p+"faults", withBody(s.SetFaults))
	mux.HandleFunc("GET "+p+"counters", func(w http.ResponseWriter, _ *http.Request) { reply(w, s.Counters(), nil) })
	mux.HandleFunc("GET "+p+"calls", func(w http.ResponseWriter, r *http.Request) {
		by := r.URL.Query().Get("by")
		group, ok := callGroups[by]
		if !ok {
			reply(w, nil, fmt.Errorf("by=%q: want one of action, outcome, accessKeyId, principal, image, userAgent", by))
			return
		}
		reply(w, s.CallsBy(group, nil), nil)
	})
	mux.HandleFunc("DELETE "+p+"counters", func(w http.ResponseWriter, _ *http.Request) { s.ResetCounters(); reply(w, nil, nil) })
	mux.HandleFunc("POST "+p+"oidc/token", answering(func(d struct {
		Provider string   `json:"provider"`
		Subject  string   `json:"subject"`
		Audience string   `json:"audience"`
		TTL      Duration `json:"ttl"`
	}) (any, error) {
		token, err := s.MintOIDCToken(d.Provider, d.Subject, d.Audience, d.TTL.Duration)
		return map[string]string{"token": token}, err
	}))
	mux.HandleFunc("GET "+p+"sts", func(w http.ResponseWriter, _ *http.Request) { reply(w, s.STS(), nil) })
	mux.HandleFunc("PUT "+p+"sts", withBody(s.SetSTS))
	mux.HandleFunc("POST "+p+"sts/expire", answering(func(d struct {
		SessionSelector
		After Duration `json:"after"`
	}) (any, error) {
		return sessionsDoc{Sessions: s.ExpireSessions(d.SessionSelector, d.After.Duration)}, nil
	}))
	mux.HandleFunc("POST "+p+"sts/revoke", answering(func(sel SessionSelector) (any, error) {
		return sessionsDoc{Sessions: s.RevokeSessions(sel)}, nil
	}))
}

type sessionsDoc struct {
	Sessions int `json:"sessions"`
}

// withBody decodes a JSON request body strictly into T and applies it.
func withBody[T any](apply func(T) error) http.HandlerFunc {
	return answering(func(v T) (any, error) { return nil, apply(v) })
}

// answering decodes a JSON request body strictly into T and answers with
// what apply returns.
func answering[T any](apply func(T) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var v T
		dec := json.NewDecoder(io.LimitReader(r.Body, maxBodyBytes))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&v); err != nil {
			reply(w, nil, errors.Join(errBadRequest, err))
			return
		}
		doc, err := apply(v)
		reply(w, doc, err)
	}
}

var errBadRequest = errors.New("malformed JSON body")

// reply answers a control call: doc as JSON on success, {"error": "..."}
// with 400 otherwise.
func reply(w http.ResponseWriter, doc any, err error) {
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		doc = map[string]string{"error": err.Error()}
	} else if doc == nil {
		doc = map[string]string{"status": "ok"}
	}
	_ = json.NewEncoder(w).Encode(doc) //nolint:errchkjson // A client that went away cannot be answered; nothing to do.
}
