package ecssim

import (
	"cmp"
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

// Handler serves the ECS and STS APIs at "/", the ECS instance metadata
// surface under /latest/, the control API under ControlPrefix and
// Prometheus metrics at /metrics.
func (s *Simulator) Handler() http.Handler {
	mux := http.NewServeMux()
	s.registerControl(mux)
	s.registerMetadata(mux)
	reg := prometheus.NewRegistry()
	reg.MustRegister(countersCollector{s})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/", s.serveECS)
	return mux
}

// outcome is what one API call came to, for the answer, the log and the counters.
type outcome struct {
	action, account, region, image string
	accessKeyID, userAgent         string
	principal                      string
	accounts                       int
	api                            *api // the product that answers
	resp                           answer
	err                            *APIError
	delay                          time.Duration
	hung                           bool
}

// call is how the counters record this outcome.
func (o outcome) call() Call {
	return Call{Action: o.action, Outcome: outcomeOf(o.err), AccessKeyID: o.accessKeyID, Principal: o.principal,
		Region: o.region, Image: o.image, UserAgent: o.userAgent, Hung: o.hung,
		Accounts: o.accounts}
}

func (s *Simulator) serveECS(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	requestID := newRequestID()
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes))
	o := outcome{action: "Unknown", api: &ecsAPI}
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
		doc = newErrorBody(o.err, requestID, o.api.hostID, o.api.product)
	} else {
		o.resp.setRequestID(requestID)
		doc = o.resp
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(doc) //nolint:errchkjson // A client that went away cannot be answered; nothing to do.

	s.logger.Info("api call", "host", o.api.hostID, "action", o.action, "account", o.account, "region", o.region, "image", o.image,
		"outcome", outcomeOf(o.err), "status", status, "latency", time.Since(start).Round(time.Microsecond), "requestId", requestID)
}

// serve routes, authenticates, shapes and runs one ECS or STS call.
func (s *Simulator) serve(r *http.Request, body []byte) outcome {
	o := outcome{action: "Unknown", api: &ecsAPI, userAgent: r.Header.Get("User-Agent")}
	params, err := requestParams(r, body)
	if err != nil {
		o.err = err
		return s.count(o)
	}
	o.region, o.image = params.Get("RegionId"), params.Get("ImageId")
	o.accounts = len(accountList(params, "AddAccount")) + len(accountList(params, "RemoveAccount"))

	a, action, req, anonymous, err := readCall(r, params, body)
	if a != nil {
		o.api = a
		if _, known := a.actions[action]; known {
			o.action = action
		}
	}
	o.accessKeyID = req.accessKeyID
	if err != nil {
		o.err = err
		return s.count(o)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock()
	var cred credential
	if a.allFaults {
		o.delay = s.faults.latency()
	}
	if !anonymous {
		cred, err = s.authenticate(req, now)
		if err == nil {
			o.principal = cred.principal()
			err = a.authorize(cred, action)
		}
		if err == nil {
			o.account = cred.account
		}
	}
	if err == nil {
		if a.allFaults {
			err = s.faults.admit(now, action, o.account)
		} else {
			err = s.faults.throttle(now, action)
		}
	}
	if err == nil {
		o.resp, err = a.actions[action](s, call{account: cred.account, caller: cred, params: params, now: now})
	}
	if a.allFaults && o.account != "" {
		if d := s.faults.hang(); d > 0 {
			o.delay += d
			o.hung = true
		}
	}
	o.err = err
	s.calls.add(o.call())
	return o
}

// readCall finds what a request asks for and how it is signed. The api is
// set whenever the version names one, so that errors come from its host.
func readCall(r *http.Request, params url.Values, body []byte) (a *api, action string, req signedRequest, anonymous bool, err *APIError) {
	var version string
	switch {
	case r.Method != http.MethodGet && r.Method != http.MethodPost:
		err = apiErr(http.StatusMethodNotAllowed, CodeUnsupportedHTTPMethod, "The HTTP method %s is not supported.", r.Method)
	case r.Header.Get("Authorization") != "":
		action, version = r.Header.Get("x-acs-action"), r.Header.Get("x-acs-version")
		a, err = route(action, version)
		if err == nil {
			req, err = acs3Request(r, body)
		}
	case params.Has("Signature"):
		action, version = params.Get("Action"), params.Get("Version")
		a, err = route(action, version)
		if err == nil {
			req, err = rpcRequest(r, params)
		}
	case isAnonymous(r, params):
		action, version = anonymousAction(r, params)
		a, err = route(action, version)
		anonymous = true
	case r.Header.Get("x-acs-action") != "":
		err = errMissing("Authorization")
	default:
		err = errMissing("Signature")
	}
	return a, action, req, anonymous, err
}

// count records a call that failed before it reached the state lock.
func (s *Simulator) count(o outcome) outcome {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls.add(o.call())
	return o
}

// api is one product the handler serves, told apart by the request's
// Version as on the real gateways.
type api struct {
	// hostID and product name it in error bodies.
	hostID, product string
	actions         map[string]action
	// anonymous actions are called without credentials or a signature.
	anonymous map[string]bool
	// authorize decides whether an authenticated caller may call action.
	authorize func(c credential, action string) *APIError
	// allFaults: Faults shape every call (latency, rate limits, injected
	// errors, hangs). Otherwise only perAction rate limits naming one of
	// its actions apply, so that ECS weather does not also hit STS.
	allFaults bool
}

var (
	ecsAPI = api{hostID: "ecs.aliyuncs.com", product: "Ecs", actions: actions, authorize: authorizeECS, allFaults: true}
	stsAPI = api{hostID: "sts.aliyuncs.com", product: "Sts", actions: stsActions, anonymous: map[string]bool{"AssumeRoleWithOIDC": true}, authorize: authorizeSTS}
	apis   = map[string]*api{apiVersion: &ecsAPI, stsVersion: &stsAPI}
)

// knownAction reports whether any served API has action.
func knownAction(action string) bool {
	for _, a := range apis {
		if _, ok := a.actions[action]; ok {
			return true
		}
	}
	return false
}

// route checks that the action and version name something served. As on the
// real gateway this happens before the signature is looked at. The api is
// returned whenever the version names one, so that errors come from its host.
func route(action, version string) (*api, *APIError) {
	switch {
	case action == "":
		return nil, errMissing("Action")
	case version == "":
		return nil, errMissing("Version")
	}
	a := apis[version]
	if a == nil {
		return nil, apiErr(http.StatusBadRequest, CodeInvalidVersion, "Specified parameter Version is not valid.")
	}
	if _, ok := a.actions[action]; !ok {
		return a, apiErr(http.StatusNotFound, CodeActionNotFound, "Specified api is not found, please check your url and method.")
	}
	return a, nil
}

// anonymousAction is what an unsigned request asks for; the RPC style names
// it in the query, ACS3 in headers.
func anonymousAction(r *http.Request, params url.Values) (action, version string) {
	return cmp.Or(params.Get("Action"), r.Header.Get("x-acs-action")), cmp.Or(params.Get("Version"), r.Header.Get("x-acs-version"))
}

// isAnonymous reports whether an unsigned request names an action that
// needs no signature.
func isAnonymous(r *http.Request, params url.Values) bool {
	action, version := anonymousAction(r, params)
	a := apis[version]
	return a != nil && a.anonymous[action]
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
