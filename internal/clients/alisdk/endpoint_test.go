package alisdk_test

import (
	"strings"
	"testing"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/alisdk"
)

func TestParseEndpoint(t *testing.T) {
	cases := []struct {
		url          string
		host, scheme string
		wantErr      string
	}{
		{url: "https://ecs-vpc.cn-hangzhou.aliyuncs.com", host: "ecs-vpc.cn-hangzhou.aliyuncs.com", scheme: "https"},
		{url: "http://127.0.0.1:8080", host: "127.0.0.1:8080", scheme: "http"},
		{url: "https://ecs.cn-shanghai.aliyuncs.com/", host: "ecs.cn-shanghai.aliyuncs.com", scheme: "https"},
		{url: "HTTP://[::1]:8080", host: "[::1]:8080", scheme: "http"},
		{url: "", wantErr: "empty"},
		{url: "ecs.cn-hangzhou.aliyuncs.com", wantErr: "no scheme"},
		{url: "127.0.0.1:8080", wantErr: "not a URL"},
		{url: "ftp://ecs.cn-hangzhou.aliyuncs.com", wantErr: `scheme "ftp" is not http or https`},
		{url: "https://ecs.cn-hangzhou.aliyuncs.com/ecs", wantErr: "must not have a path"},
		{url: "https://ecs.cn-hangzhou.aliyuncs.com?a=b", wantErr: "must not have a query"},
		{url: "https://ecs.cn-hangzhou.aliyuncs.com#top", wantErr: "fragment"},
		{url: "https://ecs.cn-hangzhou.aliyuncs.com#", wantErr: "fragment"},
		{url: "http://127.0.0.1:99999", wantErr: "port must be a number from 1 to 65535"},
		{url: "http://127.0.0.1:0", wantErr: "port must be a number from 1 to 65535"},
		{url: "https://ecs.cn-hangzhou.aliyuncs.com:443", host: "ecs.cn-hangzhou.aliyuncs.com:443", scheme: "https"},
		{url: "https://LTAIkey:p4ssw0rd@ecs.cn-hangzhou.aliyuncs.com", wantErr: "must not contain user info"},
		{url: "https://", wantErr: "no host"},
		{url: "https:ecs.cn-hangzhou.aliyuncs.com", wantErr: "not a URL"},
	}
	for _, tc := range cases {
		host, scheme, err := alisdk.ParseEndpoint(tc.url)
		switch {
		case tc.wantErr == "" && (err != nil || host != tc.host || scheme != tc.scheme):
			t.Errorf("ParseEndpoint(%q) = %q, %q, %v; want %q, %q", tc.url, host, scheme, err, tc.host, tc.scheme)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("ParseEndpoint(%q) error = %v, want one saying %q", tc.url, err, tc.wantErr)
		case err != nil && strings.Contains(err.Error(), "p4ssw0rd"):
			t.Errorf("ParseEndpoint(%q) error %q quotes the password", tc.url, err)
		}
	}
}
