package importer_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/credentials"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/ecs"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim/simtest"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/importer"
)

const (
	region  = "cn-hangzhou"
	owner   = "1234567890123456"
	partner = "2222222222222222"
	other   = "3333333333333333"
)

var namespaced = importer.Options{Kind: importer.KindImageSharePermission, Namespace: "platform", ConfigKind: "ClusterProviderConfig", ConfigName: "default"}

// stream is what WriteYAML writes of the objects of shares.
func stream(t *testing.T, shares []importer.Share, o importer.Options) string {
	t.Helper()
	objs, err := importer.Objects(shares, o)
	if err != nil {
		t.Fatalf("Objects: %v", err)
	}
	var b bytes.Buffer
	if err := importer.WriteYAML(&b, objs); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestManifests(t *testing.T) {
	shares := []importer.Share{
		{Region: region, ImageID: "m-b0002", AccountID: other},
		{Region: region, ImageID: "m-a0001", AccountID: partner},
		{Region: region, ImageID: "m-b0002", AccountID: partner},
		{Region: region, ImageID: "m-a0001", AccountID: partner}, // read twice
	}
	cases := []struct {
		reason string
		o      func(importer.Options) importer.Options
		want   string
	}{
		{
			reason: "One namespaced ImageSharePermission per share, sorted, repeats dropped, only observing, with its external name.",
			want: `apiVersion: ecs.alibabacloud.m.crossplane.io/v1beta1
kind: ImageSharePermission
metadata:
  annotations:
    crossplane.io/external-name: m-a0001:2222222222222222
  name: m-a0001-2222222222222222
  namespace: platform
spec:
  forProvider:
    accountId: "2222222222222222"
    imageId: m-a0001
    region: cn-hangzhou
  managementPolicies:
  - Observe
  providerConfigRef:
    kind: ClusterProviderConfig
    name: default
---
apiVersion: ecs.alibabacloud.m.crossplane.io/v1beta1
kind: ImageSharePermission
metadata:
  annotations:
    crossplane.io/external-name: m-b0002:2222222222222222
  name: m-b0002-2222222222222222
  namespace: platform
spec:
  forProvider:
    accountId: "2222222222222222"
    imageId: m-b0002
    region: cn-hangzhou
  managementPolicies:
  - Observe
  providerConfigRef:
    kind: ClusterProviderConfig
    name: default
---
apiVersion: ecs.alibabacloud.m.crossplane.io/v1beta1
kind: ImageSharePermission
metadata:
  annotations:
    crossplane.io/external-name: m-b0002:3333333333333333
  name: m-b0002-3333333333333333
  namespace: platform
spec:
  forProvider:
    accountId: "3333333333333333"
    imageId: m-b0002
    region: cn-hangzhou
  managementPolicies:
  - Observe
  providerConfigRef:
    kind: ClusterProviderConfig
    name: default
`,
		},
		{
			reason: "One cluster-scoped ImageSharing per image, listing its accounts, in full control.",
			o: func(o importer.Options) importer.Options {
				o.Kind, o.Cluster, o.FullControl, o.ConfigName = importer.KindImageSharing, true, true, "ops"
				return o
			},
			want: `apiVersion: ecs.alibabacloud.crossplane.io/v1beta1
kind: ImageSharing
metadata:
  annotations:
    crossplane.io/external-name: m-a0001
  name: m-a0001
spec:
  forProvider:
    accounts:
    - "2222222222222222"
    imageId: m-a0001
    region: cn-hangzhou
  providerConfigRef:
    name: ops
---
apiVersion: ecs.alibabacloud.crossplane.io/v1beta1
kind: ImageSharing
metadata:
  annotations:
    crossplane.io/external-name: m-b0002
  name: m-b0002
spec:
  forProvider:
    accounts:
    - "2222222222222222"
    - "3333333333333333"
    imageId: m-b0002
    region: cn-hangzhou
  providerConfigRef:
    name: ops
`,
		},
	}
	for _, tc := range cases {
		o := namespaced
		if tc.o != nil {
			o = tc.o(o)
		}
		if diff := cmp.Diff(tc.want, stream(t, shares, o)); diff != "" {
			t.Errorf("%s\n-want, +got:\n%s", tc.reason, diff)
		}
	}
}

func TestObjectNames(t *testing.T) {
	objs, err := importer.Objects([]importer.Share{
		{Region: region, ImageID: "m-abc", AccountID: partner},
		{Region: region, ImageID: "m-ABC", AccountID: partner},
	}, namespaced)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range objs {
		names = append(names, o.GetName())
	}
	if diff := cmp.Diff([]string{"m-abc-2222222222222222", "m-abc-45fa4fba-2222222222222222"}, names); diff != "" {
		t.Errorf("an image ID with capitals gets a digest, so that two IDs that differ in case stay apart: -want, +got:\n%s", diff)
	}
}

func TestObjectsRefuse(t *testing.T) {
	many := make([]importer.Share, 501)
	for i := range many {
		many[i] = importer.Share{Region: region, ImageID: "m-many", AccountID: fmt.Sprintf("7%015d", i)}
	}
	cases := []struct {
		reason  string
		shares  []importer.Share
		o       func(importer.Options) importer.Options
		wantErr string
	}{
		{reason: "A region the API would refuse.", shares: []importer.Share{{Region: "Hangzhou", ImageID: "m-a", AccountID: partner}}, wantErr: `region "Hangzhou" is not an Alibaba Cloud region ID`},
		{reason: "An image ID the API would refuse.", shares: []importer.Share{{Region: region, ImageID: "img-1", AccountID: partner}}, wantErr: `image ID "img-1" is not a custom image ID`},
		{reason: "An account ID the API would refuse.", shares: []importer.Share{{Region: region, ImageID: "m-a", AccountID: "alice"}}, wantErr: `account ID "alice" is not the numeric ID`},
		{
			reason: "An image of more accounts than an ImageSharing lists.", shares: many,
			o:       func(o importer.Options) importer.Options { o.Kind = importer.KindImageSharing; return o },
			wantErr: "shared with 501 accounts, and an ImageSharing lists at most 500: import it as ImageSharePermissions",
		},
		{
			reason:  "The same image ID in two regions would be two objects of one name.",
			shares:  []importer.Share{{Region: region, ImageID: "m-a", AccountID: partner}, {Region: "cn-shanghai", ImageID: "m-a", AccountID: partner}},
			wantErr: "two objects would be named m-a-2222222222222222",
		},
		{reason: "A kind that is neither.", o: func(o importer.Options) importer.Options { o.Kind = "Share"; return o }, wantErr: `kind "Share" is neither`},
		{reason: "Namespaced objects without a namespace.", o: func(o importer.Options) importer.Options { o.Namespace = ""; return o }, wantErr: "need a namespace"},
		{reason: "A configuration kind namespaced objects cannot name.", o: func(o importer.Options) importer.Options { o.ConfigKind = "Secret"; return o }, wantErr: `not a "Secret"`},
	}
	for _, tc := range cases {
		o := namespaced
		if tc.o != nil {
			o = tc.o(o)
		}
		_, err := importer.Objects(tc.shares, o)
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%s\nerror = %v, want one saying %q", tc.reason, err, tc.wantErr)
		}
	}
}

func TestFromECS(t *testing.T) {
	key := credentials.Credentials{AccessKeyID: "LTAIimportOwner", AccessKeySecret: "importSecret"}
	cfg := ecssim.Config{
		Accounts: []ecssim.Account{{ID: owner, AccessKeys: []ecssim.AccessKey{{ID: key.AccessKeyID, Secret: key.AccessKeySecret}}}, {ID: partner}, {ID: other}},
		Images: []ecssim.Image{
			{ID: "m-shared01", Region: region, Owner: owner, SharedWith: []string{partner, other}},
			{ID: "m-family01", Region: region, Owner: owner, Family: "golden", SharedWith: []string{other}},
			{ID: "m-alone001", Region: region, Owner: owner},
			{ID: "m-theirs01", Region: region, Owner: partner, SharedWith: []string{owner}},
		},
	}
	cases := []struct {
		reason        string
		filter        ecs.ImageFilter
		want          []importer.Share
		wantErr       string
		wantDescribes uint64
	}{
		{
			reason: "Every share of the account's own images; an image ECS says is not shared is not read, another account's image shared with it is not its own.",
			want: []importer.Share{
				{Region: region, ImageID: "m-family01", AccountID: other},
				{Region: region, ImageID: "m-shared01", AccountID: partner}, {Region: region, ImageID: "m-shared01", AccountID: other},
			},
			wantDescribes: 2,
		},
		{
			reason:        "An image named is read, shared or not.",
			filter:        ecs.ImageFilter{IDs: []string{"m-alone001", "m-shared01"}},
			want:          []importer.Share{{Region: region, ImageID: "m-shared01", AccountID: partner}, {Region: region, ImageID: "m-shared01", AccountID: other}},
			wantDescribes: 2,
		},
		{
			reason:        "A family's images only.",
			filter:        ecs.ImageFilter{Family: "golden"},
			want:          []importer.Share{{Region: region, ImageID: "m-family01", AccountID: other}},
			wantDescribes: 1,
		},
		{
			reason:  "An image named that is not the account's own is an error, not a silent gap.",
			filter:  ecs.ImageFilter{IDs: []string{"m-theirs01"}},
			wantErr: "image m-theirs01 is not an image of the account's own in cn-hangzhou",
		},
	}
	for _, tc := range cases {
		sim, srv := simtest.Serve(t, cfg)
		client, err := ecs.New(ecs.Config{Region: region, Endpoint: srv.URL, Credentials: key})
		if err != nil {
			t.Fatal(err)
		}
		got, err := importer.FromECS(context.Background(), client, region, tc.filter)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s\nerror = %v, want one saying %q", tc.reason, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s\nFromECS: %v", tc.reason, err)
		}
		if diff := cmp.Diff(tc.want, got, cmpopts.SortSlices(func(a, b importer.Share) bool { return a.ImageID+a.AccountID < b.ImageID+b.AccountID })); diff != "" {
			t.Errorf("%s\n-want, +got:\n%s", tc.reason, diff)
		}
		if n := sim.Calls(ecs.ActionDescribe); n != tc.wantDescribes {
			t.Errorf("%s\nDescribeImageSharePermission calls = %d, want %d", tc.reason, n, tc.wantDescribes)
		}
	}
}
