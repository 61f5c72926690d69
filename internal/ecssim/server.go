package ecssim

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// maxBodyBytes bounds what the simulator reads of a request body.
const maxBodyBytes = 1 << 20

// Handler serves the ECS API at "/", the control API under ControlPrefix and
// Prometheus metrics at /metrics.
func (s *Simulator) Handler() http.Handler {
	mux := http.NewServeMux()
	s.registerControl(mux)
	reg := prometheus.NewRegistry()
	reg.MustRegister(countersCollector{s})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/", s.serveECS)
	return mux
}

// outcome is what one ECS call came to, for the answer, the log and the counters.
type outcome struct {
	action, account, region, image string
	accessKeyID, userAgent         string
	resp                           answer
	err                            *APIError
	delay                          time.Duration
	hung                           bool
}

// call is how the counters record this outcome.
func (o outcome) call() Call {
	return Call{Action: o.action, Outcome: outcomeOf(o.err), AccessKeyID: o.accessKeyID,
		Region: o.region, Image: o.image, UserAgent: o.userAgent, Hung: o.hung}
}

func (s *Simulator) serveECS(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	requestID := newRequestID()
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes))
	o := outcome{action: "Unknown"}
	if err != nil {
		o.err = errInvalidParam("Body")
	} else {
		o = s.serve(r, body)
	}
	if !sleep(r.Context(), o.delay) {
		return
	}
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.Header().Set("x-acs-request-id", requestID)
	var doc any
	status := http.StatusOK
	if o.err != nil {
		status = o.err.Status
		doc = newErrorBody(o.err, requestID, s.hostID)
	} else {
		o.resp.setRequestID(requestID)
		doc = o.resp
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(doc) //nolint:errchkjson // A client that went away cannot be answered; nothing to do.

	s.logger.Info("ecs call", "action", o.action, "account", o.account, "region", o.region, "image", o.image,
		"outcome", outcomeOf(o.err), "status", status, "latency", time.Since(start).Round(time.Microsecond), "requestId", requestID)
}

// serve routes, authenticates, shapes and runs one ECS call.
func (s *Simulator) serve(r *http.Request, body []byte) outcome {
	o := outcome{action: "Unknown", userAgent: r.Header.Get("User-Agent")}
	params, err := requestParams(r, body)
	if err != nil {
		o.err = err
		return s.count(o)
	}
	o.region, o.image = params.Get("RegionId"), params.Get("ImageId")

	var action, version string
	var req signedRequest
	switch {
	case r.Method != http.MethodGet && r.Method != http.MethodPost:
		err = apiErr(http.StatusMethodNotAllowed, CodeUnsupportedHTTPMethod, "The HTTP method %s is not supported.", r.Method)
	case r.Header.Get("Authorization") != "":
		action, version = r.Header.Get("x-acs-action"), r.Header.Get("x-acs-version")
		err = route(action, version)
		if err == nil {
			req, err = acs3Request(r, body)
		}
	case params.Has("Signature"):
		action, version = params.Get("Action"), params.Get("Version")
		err = route(action, version)
		if err == nil {
			req, err = rpcRequest(r, params)
		}
	case r.Header.Get("x-acs-action") != "":
		err = errMissing("Authorization")
	default:
		err = errMissing("Signature")
	}
	if _, known := actions[action]; known {
		o.action = action
	}
	o.accessKeyID = req.accessKeyID
	if err != nil {
		o.err = err
		return s.count(o)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock()
	o.delay = s.faults.latency()
	cred, err := s.authenticate(req, action, now)
	if err == nil {
		o.account = cred.account
		err = s.faults.admit(now, action, cred.account)
	}
	if err == nil {
		o.resp, err = actions[action](s, call{account: cred.account, params: params, now: now})
	}
	if cred.account != "" {
		if d := s.faults.hang(); d > 0 {
			o.delay += d
			o.hung = true
		}
	}
	o.err = err
	s.calls.add(o.call())
	return o
}

// count records a call that failed before it reached the state lock.
func (s *Simulator) count(o outcome) outcome {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls.add(o.call())
	return o
}

// route checks that the action and version name something served. As on the
// real gateway this happens before the signature is looked at.
func route(action, version string) *APIError {
	switch {
	case action == "":
		return errMissing("Action")
	case version == "":
		return errMissing("Version")
	case version != apiVersion:
		return apiErr(http.StatusBadRequest, CodeInvalidVersion, "Specified parameter Version is not valid.")
	}
	if _, ok := actions[action]; !ok {
		return apiErr(http.StatusNotFound, CodeActionNotFound, "Specified api is not found, please check your url and method.")
	}
	return nil
}

// requestParams merges the query with a form-encoded body: RPC clients may
// put parameters in either.
func requestParams(r *http.Request, body []byte) (url.Values, *APIError) {
	params := r.URL.Query()
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") && len(body) > 0 {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, errInvalidParam("Body")
		}
		for k, v := range form {
			params[k] = append(params[k], v...)
		}
	}
	return params, nil
}

func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func newRequestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return strings.ToUpper(fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:]))
}
