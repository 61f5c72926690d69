package ecs_test

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/ecs"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/testpki"
)

func testCA(t *testing.T) *testpki.CA {
	t.Helper()
	ca, err := testpki.NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// serveTLS serves the simulator over https with a certificate of ca.
func serveTLS(t *testing.T, ca *testpki.CA) string {
	t.Helper()
	sim, err := ecssim.New(testConfig())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(sim.Handler())
	if srv.TLS, err = ca.ServerTLS("127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.URL
}

// handshakeTimeout is the tests' ConnectTimeout, which bounds the TLS
// handshake too: long enough that a machine busy with other suites does not
// turn a certificate's verdict into a timeout (it once took over a second).
const handshakeTimeout = 10 * time.Second

// TestCABundle calls an https endpoint through the real SDK: the server's
// certificate must chain to the configured bundle, and there is no way to
// skip that.
func TestCABundle(t *testing.T) {
	ca, stranger := testCA(t), testCA(t)
	endpoint := serveTLS(t, ca)
	cases := []struct {
		reason  string
		bundle  []byte
		wantErr string
	}{
		{reason: "the CA that signed the endpoint's certificate", bundle: ca.PEM},
		{reason: "another CA", bundle: stranger.PEM, wantErr: "presented a certificate that is not trusted"},
		{reason: "no bundle: the system's roots do not know a test CA", wantErr: "trust the authority that signs it with the configuration's tls.caBundleSecretRef"},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			c := newClient(t, endpoint, ownerCreds, func(c *ecs.Config) { c.CABundle, c.ConnectTimeout = tc.bundle, handshakeTimeout })
			_, err := find(c, imageID, friend)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("FindShare: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("FindShare error %v, want one saying %q", err, tc.wantErr)
			}
			assertNoSecrets(t, err)
		})
	}
}

// TestCABundlesDoNotMix guards against the SDK's connection pool, which
// keys pooled clients by timeouts, proxies and host but not by CA: two
// configurations that differ only in their bundle must each be verified
// with their own, whichever calls first.
func TestCABundlesDoNotMix(t *testing.T) {
	for _, trustedFirst := range []bool{true, false} {
		ca, stranger := testCA(t), testCA(t)
		endpoint := serveTLS(t, ca)
		// Same timeouts and host, so the same pool entry but for the bundle.
		same := func(bundle []byte) func(*ecs.Config) {
			return func(c *ecs.Config) {
				c.CABundle, c.ConnectTimeout, c.ReadTimeout = bundle, handshakeTimeout, 3*time.Second
			}
		}
		trusted := newClient(t, endpoint, ownerCreds, same(ca.PEM))
		untrusted := newClient(t, endpoint, ownerCreds, same(stranger.PEM))
		order := []ecs.Client{trusted, untrusted}
		if !trustedFirst {
			order = []ecs.Client{untrusted, trusted}
		}
		for _, c := range order {
			_, err := find(c, imageID, friend)
			if c == trusted && err != nil {
				t.Errorf("trusted first %v: the client with the right CA failed: %v", trustedFirst, err)
			}
			if c == untrusted && err == nil {
				t.Errorf("trusted first %v: the client with another CA verified the endpoint", trustedFirst)
			}
		}
	}
}
