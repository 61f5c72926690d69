package alisdk_test

import (
	"encoding/pem"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/alibabacloud-go/tea/tea"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/alisdk"
)

func TestCheckEndpoint(t *testing.T) {
	cases := []struct {
		reason         string
		url            string
		allowPlainHTTP bool
		ca             []byte
		host, protocol string
		wantErr        string
	}{
		{reason: "empty is the SDK's default host over https", protocol: "https"},
		{reason: "https anywhere", url: "https://sts-vpc.cn-hangzhou.aliyuncs.com", host: "sts-vpc.cn-hangzhou.aliyuncs.com", protocol: "https"},
		{reason: "plain http to loopback", url: "http://127.0.0.1:8080", host: "127.0.0.1:8080", protocol: "http"},
		{reason: "plain http to localhost", url: "http://localhost:8080", host: "localhost:8080", protocol: "http"},
		{reason: "plain http to IPv6 loopback", url: "http://[::1]:8080", host: "[::1]:8080", protocol: "http"},
		{reason: "plain http elsewhere only when allowed", url: "http://10.0.0.1", allowPlainHTTP: true, host: "10.0.0.1", protocol: "http"},
		{reason: "plain http elsewhere is refused", url: "http://10.0.0.1", wantErr: "not loopback"},
		{reason: "a name that resolves to loopback today is not loopback", url: "http://127.0.0.1.nip.io", wantErr: "not loopback"},
		{reason: "a CA bundle means nothing over plain http", url: "http://127.0.0.1", ca: []byte(testCA), wantErr: "only to an https endpoint"},
		{reason: "a CA bundle must hold a certificate", url: "https://h", ca: []byte("not PEM"), wantErr: "holds no PEM certificate"},
		{reason: "the URL is parsed", url: "sts.aliyuncs.com", wantErr: "no scheme"},
	}
	for _, tc := range cases {
		host, protocol, err := alisdk.CheckEndpoint(tc.url, tc.allowPlainHTTP, tc.ca)
		switch {
		case tc.wantErr == "" && (err != nil || host != tc.host || protocol != tc.protocol):
			t.Errorf("%s: CheckEndpoint(%q) = %q, %q, %v; want %q, %q", tc.reason, tc.url, host, protocol, err, tc.host, tc.protocol)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s: CheckEndpoint(%q) error = %v, want one saying %q", tc.reason, tc.url, err, tc.wantErr)
		}
	}
}

func TestCredential(t *testing.T) {
	c := alisdk.Credential("STS.id", "the-secret", "the-token")
	m, err := c.GetCredential()
	if err != nil {
		t.Fatal(err)
	}
	got := []string{tea.StringValue(m.AccessKeyId), tea.StringValue(m.AccessKeySecret), tea.StringValue(m.SecurityToken), tea.StringValue(m.Type)}
	if want := []string{"STS.id", "the-secret", "the-token", "sts"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("GetCredential = %v, want %v", got, want)
	}
	if typ := tea.StringValue(alisdk.Credential("LTAI", "s", "").GetType()); typ != "access_key" {
		t.Errorf("type without a token = %q, want access_key", typ)
	}
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		if s := fmt.Sprintf(format, c); strings.Contains(s, "the-secret") || strings.Contains(s, "the-token") {
			t.Errorf("%s of a Credential shows a secret: %s", format, s)
		}
	}
}

func TestSlotsAreExclusive(t *testing.T) {
	a, b := alisdk.TakeSlot(), alisdk.TakeSlot()
	if a == b {
		t.Fatalf("two calls in flight got slot %d", a)
	}
	alisdk.GiveSlot(a)
	if c := alisdk.TakeSlot(); c != a {
		t.Errorf("slot %d was free but %d was taken: the pool would grow", a, c)
	}
}

// testCA is the PEM of httptest's certificate: a real one, only parsed.
var testCA = func() string {
	srv := httptest.NewTLSServer(nil)
	defer srv.Close()
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))
}()
