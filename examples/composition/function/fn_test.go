package main

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/crossplane/function-sdk-go/logging"
	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"github.com/crossplane/function-sdk-go/resource"
	"github.com/crossplane/function-sdk-go/response"
)

// imageShare is an observed ImageShare in namespace team-a with the given
// spec (JSON).
func imageShare(spec string) *fnv1.State {
	return &fnv1.State{Composite: &fnv1.Resource{Resource: resource.MustStructJSON(`{
		"apiVersion": "platform.example.org/v1alpha1",
		"kind": "ImageShare",
		"metadata": {"name": "golden-image", "namespace": "team-a"},
		"spec": ` + spec + `
	}`)}}
}

// sharing is the composed ImageSharing as the function desires it;
// specExtra adds fields to its spec.
func sharing(forProvider, specExtra string) *fnv1.Resource {
	return &fnv1.Resource{Resource: resource.MustStructJSON(`{
		"apiVersion": "ecs.alibabacloud.m.crossplane.io/v1beta1",
		"kind": "ImageSharing",
		"metadata": {"namespace": "team-a"},
		"spec": {"forProvider": ` + forProvider + specExtra + `}
	}`)}
}

// observedSharing is the composed ImageSharing as Crossplane observes it,
// with its Ready condition's status and the accounts it reports shared.
func observedSharing(forProvider, ready, shared string) *fnv1.Resource {
	return &fnv1.Resource{Resource: resource.MustStructJSON(`{
		"apiVersion": "ecs.alibabacloud.m.crossplane.io/v1beta1",
		"kind": "ImageSharing",
		"metadata": {"namespace": "team-a", "name": "golden-image-x7k2p"},
		"spec": {"forProvider": ` + forProvider + `},
		"status": {
			"conditions": [{"type": "Ready", "status": "` + ready + `", "reason": "Available", "lastTransitionTime": "2026-01-01T00:00:00Z"}],
			"atProvider": {"images": [{"imageId": "m-demo0001", "sharedAccounts": ` + shared + `}]}
		}
	}`)}
}

func status(accounts, sharedWith string) *fnv1.Resource {
	return &fnv1.Resource{Resource: resource.MustStructJSON(`{"status": {"accounts": ` + accounts + `, "sharedWith": ` + sharedWith + `}}`)}
}

func normal(msg string) []*fnv1.Result {
	return []*fnv1.Result{{Severity: fnv1.Severity_SEVERITY_NORMAL, Message: msg, Target: fnv1.Target_TARGET_COMPOSITE.Enum()}}
}

func fatal(msg string) []*fnv1.Result {
	return []*fnv1.Result{{Severity: fnv1.Severity_SEVERITY_FATAL, Message: msg, Target: fnv1.Target_TARGET_COMPOSITE.Enum()}}
}

const (
	forBoth = `{"region": "cn-hangzhou", "imageId": "m-demo0001", "accounts": ["2222222222222222", "3333333333333333"]}`
	forA    = `{"region": "cn-hangzhou", "imageId": "m-demo0001", "accounts": ["2222222222222222"]}`
	spec    = `{"region": "cn-hangzhou", "imageId": "m-demo0001", "accountIds": ["2222222222222222", "3333333333333333", "2222222222222222"]}`
)

func TestRunFunction(t *testing.T) {
	meta := &fnv1.ResponseMeta{Tag: "t", Ttl: durationpb.New(response.DefaultTTL)}

	cases := map[string]struct {
		req  *fnv1.RunFunctionRequest
		want *fnv1.RunFunctionResponse
	}{
		"OneSharingOfTheDistinctAccounts": {
			req: &fnv1.RunFunctionRequest{Observed: imageShare(spec)},
			want: &fnv1.RunFunctionResponse{
				Desired: &fnv1.State{
					Composite: status("2", "[]"),
					Resources: map[string]*fnv1.Resource{"sharing": sharing(forBoth, "")},
				},
				Results: normal("image m-demo0001 in cn-hangzhou: shared with 0 of 2 accounts"),
			},
		},
		"ProviderConfigRefIsPassedOn": {
			req: &fnv1.RunFunctionRequest{Observed: imageShare(`{"region": "cn-hangzhou", "imageId": "m-demo0001", "accountIds": ["2222222222222222"],
				"providerConfigRef": {"kind": "ProviderConfig", "name": "team"}}`)},
			want: &fnv1.RunFunctionResponse{
				Desired: &fnv1.State{
					Composite: status("1", "[]"),
					Resources: map[string]*fnv1.Resource{
						"sharing": sharing(forA, `, "providerConfigRef": {"kind": "ProviderConfig", "name": "team"}`),
					},
				},
				Results: normal("image m-demo0001 in cn-hangzhou: shared with 0 of 1 accounts"),
			},
		},
		"SharedAccountsAreReportedAndNotReadyUntilAll": {
			req: &fnv1.RunFunctionRequest{Observed: &fnv1.State{
				Composite: imageShare(spec).GetComposite(),
				Resources: map[string]*fnv1.Resource{"sharing": observedSharing(forBoth, "False", `["3333333333333333", "9999999999999999"]`)},
			}},
			want: &fnv1.RunFunctionResponse{
				Desired: &fnv1.State{
					Composite: status("2", `["3333333333333333"]`),
					Resources: map[string]*fnv1.Resource{"sharing": sharing(forBoth, "")},
				},
				Results: normal("image m-demo0001 in cn-hangzhou: shared with 1 of 2 accounts"),
			},
		},
		"ReadyWhenTheSharingIs": {
			req: &fnv1.RunFunctionRequest{Observed: &fnv1.State{
				Composite: imageShare(spec).GetComposite(),
				Resources: map[string]*fnv1.Resource{"sharing": observedSharing(forBoth, "True", `["2222222222222222", "3333333333333333"]`)},
			}},
			want: &fnv1.RunFunctionResponse{
				Desired: &fnv1.State{
					Composite: status("2", `["2222222222222222", "3333333333333333"]`),
					Resources: map[string]*fnv1.Resource{"sharing": {Resource: sharing(forBoth, "").GetResource(), Ready: fnv1.Ready_READY_TRUE}},
				},
				Results: normal("image m-demo0001 in cn-hangzhou: shared with 2 of 2 accounts"),
			},
		},
		"EarlierStepsKeepTheirResources": {
			req: &fnv1.RunFunctionRequest{
				Observed: imageShare(`{"region": "cn-hangzhou", "imageId": "m-demo0001", "accountIds": ["2222222222222222"]}`),
				Desired: &fnv1.State{Resources: map[string]*fnv1.Resource{
					"other": {Resource: resource.MustStructJSON(`{"apiVersion": "v1", "kind": "ConfigMap"}`)},
				}},
			},
			want: &fnv1.RunFunctionResponse{
				Desired: &fnv1.State{
					Composite: status("1", "[]"),
					Resources: map[string]*fnv1.Resource{
						"other":   {Resource: resource.MustStructJSON(`{"apiVersion": "v1", "kind": "ConfigMap"}`)},
						"sharing": sharing(forA, ""),
					},
				},
				Results: normal("image m-demo0001 in cn-hangzhou: shared with 0 of 1 accounts"),
			},
		},
		"NoImageID": {
			req: &fnv1.RunFunctionRequest{Observed: imageShare(`{"region": "cn-hangzhou", "accountIds": ["2222222222222222"]}`)},
			want: &fnv1.RunFunctionResponse{
				Results: fatal("spec.imageId is required: the custom image to share, such as m-bp1g7004ksh0oeuco4y5"),
			},
		},
		"NoRegion": {
			req: &fnv1.RunFunctionRequest{Observed: imageShare(`{"imageId": "m-demo0001", "accountIds": ["2222222222222222"]}`)},
			want: &fnv1.RunFunctionResponse{
				Results: fatal("spec.region is required: the image's region, such as cn-hangzhou"),
			},
		},
		"NoAccounts": {
			req: &fnv1.RunFunctionRequest{Observed: imageShare(`{"region": "cn-hangzhou", "imageId": "m-demo0001", "accountIds": []}`)},
			want: &fnv1.RunFunctionResponse{
				Results: fatal("spec.accountIds needs at least one account ID to share the image with"),
			},
		},
		"SpecOfTheWrongShape": {
			req: &fnv1.RunFunctionRequest{Observed: imageShare(`{"region": "cn-hangzhou", "imageId": "m-demo0001", "accountIds": "2222222222222222"}`)},
			want: &fnv1.RunFunctionResponse{
				Results: fatal("cannot read the ImageShare's spec: cannot unmarshal value from JSON: json: cannot unmarshal string into Go struct field imageShareSpec.accountIds of type []string"),
			},
		},
	}

	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			tc.req.Meta = &fnv1.RequestMeta{Tag: "t"}
			tc.want.Meta = meta
			f := &Function{log: logging.NewNopLogger()}
			rsp, err := f.RunFunction(context.Background(), tc.req)
			if err != nil {
				t.Fatalf("RunFunction: %v", err)
			}
			if diff := cmp.Diff(tc.want, rsp, protocmp.Transform()); diff != "" {
				t.Errorf("RunFunction: -want, +got:\n%s", diff)
			}
		})
	}
}
