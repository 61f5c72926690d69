package ecs

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/alisdk"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/credentials"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/metrics"
)

// Defaults for the timeouts the SDK otherwise leaves unbounded.
const (
	DefaultConnectTimeout = 5 * time.Second
	DefaultReadTimeout    = 20 * time.Second
)

// Config is what New needs to reach ECS in one region as one account.
type Config struct {
	// Region, e.g. cn-hangzhou, is required. It is set on every request
	// because the SDK does not copy it from its own configuration.
	Region string
	// Endpoint is an optional URL such as
	// "https://ecs-vpc.cn-hangzhou.aliyuncs.com" or "http://127.0.0.1:8080";
	// empty means the SDK's default for Region. Plain http is refused unless
	// the host is loopback or AllowPlainHTTP is set.
	Endpoint string
	// AllowPlainHTTP permits plain http to a host that is not loopback.
	AllowPlainHTTP bool
	// CABundle, PEM certificates, replaces the system's roots for verifying
	// an https endpoint.
	CABundle []byte
	// Credentials are fixed keys. Exactly one of Credentials and Source is
	// set.
	Credentials credentials.Credentials
	// Source gives the credentials of each call, for keys that rotate (STS
	// sessions). Exactly one of Credentials and Source is set.
	Source credentials.Source
	// ConnectTimeout bounds establishing a connection; 0 means
	// DefaultConnectTimeout.
	ConnectTimeout time.Duration
	// ReadTimeout bounds a whole call once connected; 0 means
	// DefaultReadTimeout.
	ReadTimeout time.Duration
	// UserAgent is appended to the SDK's User-Agent, so that ECS's records
	// (ActionTrail) tell which provider, and which replica of it, called.
	UserAgent string

	// Pacer, if set, spaces the client's calls. It is shared by every client
	// of the same account and region.
	Pacer Pacer
	// Metrics, if set, records every call.
	Metrics *metrics.ECS
}

// regionPattern admits region ids only. Without an Endpoint the SDK builds
// the host name from the region, so anything else could point the signed
// request at another host.
var regionPattern = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

func (c Config) validate() error {
	var errs []error
	switch {
	case c.Region == "":
		errs = append(errs, errors.New("the region is required, e.g. cn-hangzhou"))
	case !regionPattern.MatchString(c.Region):
		errs = append(errs, fmt.Errorf("the region %q is not a region id such as cn-hangzhou", c.Region))
	}
	switch {
	case c.Source != nil && c.Credentials != (credentials.Credentials{}):
		errs = append(errs, errors.New("set either credentials or a credential source, not both"))
	case c.Source == nil && (c.Credentials.AccessKeyID == "" || c.Credentials.AccessKeySecret == ""):
		errs = append(errs, errors.New("the credentials need both an AccessKey ID and an AccessKey secret"))
	}
	if c.ConnectTimeout < 0 || c.ReadTimeout < 0 {
		errs = append(errs, errors.New("timeouts must not be negative"))
	}
	return errors.Join(errs...)
}

// endpoint returns the host[:port] and protocol to call; alisdk.CheckEndpoint
// holds the rules, which the STS client shares.
func (c Config) endpoint() (host, protocol string, err error) {
	return alisdk.CheckEndpoint(c.Endpoint, c.AllowPlainHTTP, c.CABundle)
}

// Fingerprint identifies what a client built from c would call ECS as and
// where: it differs whenever the credentials or the credential source's ID,
// the endpoint, the region, the CA bundle or the timeouts do, so a cache
// keyed by it never hands one configuration's client to another. A source's
// rotating credentials are not part of it: the client asks the source on
// every call. It is a hash, so it names no secret. The per-process hooks
// (UserAgent, Pacer, Metrics) are not part of it.
func (c Config) Fingerprint() string {
	h := sha256.New()
	for _, f := range []string{
		c.Region, c.Endpoint, strconv.FormatBool(c.AllowPlainHTTP), string(c.CABundle),
		c.Credentials.AccessKeyID, c.Credentials.AccessKeySecret, c.Credentials.SecurityToken,
		c.ConnectTimeout.String(), c.ReadTimeout.String(), c.sourceID(),
	} {
		// Length-prefixed, so that no two field lists run together alike.
		_, _ = fmt.Fprintf(h, "%d:%s;", len(f), f) // A hash takes every write.
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (c Config) sourceID() string {
	if c.Source == nil {
		return ""
	}
	return c.Source.ID()
}
