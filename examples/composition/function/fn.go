package main

import (
	"context"
	"slices"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	corev1 "k8s.io/api/core/v1"

	"github.com/crossplane/function-sdk-go/errors"
	"github.com/crossplane/function-sdk-go/logging"
	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"github.com/crossplane/function-sdk-go/request"
	"github.com/crossplane/function-sdk-go/resource"
	"github.com/crossplane/function-sdk-go/resource/composed"
	"github.com/crossplane/function-sdk-go/response"
)

// The managed resource this function composes: the namespaced (Crossplane v2)
// kind, because an ImageShare is namespaced and may only compose resources in
// its own namespace. One ImageSharing holds every account: one object, one
// read per poll and a call per ten accounts, however many accounts there are.
const (
	sharingAPIVersion = "ecs.alibabacloud.m.crossplane.io/v1beta1"
	sharingKind       = "ImageSharing"
	// sharingName names it within the composition, the same from one run
	// to the next.
	sharingName = resource.Name("sharing")
)

// imageShareSpec is the spec of an ImageShare, as definition.yaml declares it.
type imageShareSpec struct {
	Region            string             `json:"region"`
	ImageID           string             `json:"imageId"`
	AccountIDs        []string           `json:"accountIds"`
	ProviderConfigRef *providerConfigRef `json:"providerConfigRef,omitempty"`
}

type providerConfigRef struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
}

// check catches what the XRD's schema does not when the function runs outside
// Crossplane, as under crossplane render, where nothing validates the XR.
func (s imageShareSpec) check() error {
	switch {
	case s.ImageID == "":
		return errors.New("spec.imageId is required: the custom image to share, such as m-bp1g7004ksh0oeuco4y5")
	case s.Region == "":
		return errors.New("spec.region is required: the image's region, such as cn-hangzhou")
	case len(s.AccountIDs) == 0:
		return errors.New("spec.accountIds needs at least one account ID to share the image with")
	}
	return nil
}

// Function composes one ImageSharing of an ImageShare's image with its
// distinct accounts.
type Function struct {
	fnv1.UnimplementedFunctionRunnerServiceServer

	log logging.Logger
}

// RunFunction desires the ImageSharing and reports on the XR which accounts
// the image is shared with so far.
func (f *Function) RunFunction(_ context.Context, req *fnv1.RunFunctionRequest) (*fnv1.RunFunctionResponse, error) {
	rsp := response.To(req, response.DefaultTTL)

	oxr, err := request.GetObservedCompositeResource(req)
	if err != nil {
		response.Fatal(rsp, errors.Wrap(err, "cannot get the observed ImageShare"))
		return rsp, nil
	}
	log := f.log.WithValues("xr", oxr.Resource.GetName(), "namespace", oxr.Resource.GetNamespace())

	var spec imageShareSpec
	if err := oxr.Resource.GetValueInto("spec", &spec); err != nil {
		response.Fatal(rsp, errors.Wrap(err, "cannot read the ImageShare's spec"))
		return rsp, nil
	}
	if err := spec.check(); err != nil {
		response.Fatal(rsp, err)
		return rsp, nil
	}

	observed, err := request.GetObservedComposedResources(req)
	if err != nil {
		response.Fatal(rsp, errors.Wrap(err, "cannot get observed composed resources"))
		return rsp, nil
	}
	// Earlier steps of the pipeline may have desired resources of their own;
	// they are kept.
	desired, err := request.GetDesiredComposedResources(req)
	if err != nil {
		response.Fatal(rsp, errors.Wrap(err, "cannot get desired composed resources"))
		return rsp, nil
	}

	accounts := distinct(spec.AccountIDs)
	sharing, err := newSharing(spec, accounts, oxr.Resource.GetNamespace())
	if err != nil {
		response.Fatal(rsp, errors.Wrap(err, "cannot compose the ImageSharing"))
		return rsp, nil
	}
	sharedWith := []string{}
	if o, ok := observed[sharingName]; ok {
		// Crossplane counts a composed resource as ready only when a
		// function says so, and the XR is ready only when all of them are.
		if o.Resource.GetCondition(xpv2.TypeReady).Status == corev1.ConditionTrue {
			sharing.Ready = resource.ReadyTrue
		}
		sharedWith = sharedAccounts(o.Resource, accounts)
	}
	desired[sharingName] = sharing
	if err := response.SetDesiredComposedResources(rsp, desired); err != nil {
		response.Fatal(rsp, errors.Wrap(err, "cannot set desired composed resources"))
		return rsp, nil
	}

	dxr, err := request.GetDesiredCompositeResource(req)
	if err != nil {
		response.Fatal(rsp, errors.Wrap(err, "cannot get the desired ImageShare"))
		return rsp, nil
	}
	if err := dxr.Resource.SetInteger("status.accounts", int64(len(accounts))); err != nil {
		response.Fatal(rsp, errors.Wrap(err, "cannot set the ImageShare's status"))
		return rsp, nil
	}
	if err := dxr.Resource.SetValue("status.sharedWith", sharedWith); err != nil {
		response.Fatal(rsp, errors.Wrap(err, "cannot set the ImageShare's status"))
		return rsp, nil
	}
	if err := response.SetDesiredCompositeResource(rsp, dxr); err != nil {
		response.Fatal(rsp, errors.Wrap(err, "cannot set the desired ImageShare"))
		return rsp, nil
	}

	log.Debug("Composed the image's sharing", "image", spec.ImageID, "accounts", len(accounts), "shared", len(sharedWith))
	response.Normalf(rsp, "image %s in %s: shared with %d of %d accounts", spec.ImageID, spec.Region, len(sharedWith), len(accounts))
	return rsp, nil
}

// sharedAccounts are the accounts, in their order, that the observed
// ImageSharing reports its image shared with.
func sharedAccounts(o *composed.Unstructured, accounts []string) []string {
	var images []struct {
		SharedAccounts []string `json:"sharedAccounts"`
	}
	out := []string{}
	if err := o.GetValueInto("status.atProvider.images", &images); err != nil || len(images) == 0 {
		return out
	}
	for _, a := range accounts {
		if slices.Contains(images[0].SharedAccounts, a) {
			out = append(out, a)
		}
	}
	return out
}

func newSharing(spec imageShareSpec, accounts []string, namespace string) (*resource.DesiredComposed, error) {
	cd := composed.New()
	cd.SetAPIVersion(sharingAPIVersion)
	cd.SetKind(sharingKind)
	cd.SetNamespace(namespace)
	if err := cd.SetValue("spec.forProvider", map[string]any{
		"region":   spec.Region,
		"imageId":  spec.ImageID,
		"accounts": accounts,
	}); err != nil {
		return nil, err
	}
	if ref := spec.ProviderConfigRef; ref != nil {
		if err := cd.SetValue("spec.providerConfigRef", map[string]any{"kind": ref.Kind, "name": ref.Name}); err != nil {
			return nil, err
		}
	}
	return &resource.DesiredComposed{Resource: cd}, nil
}

// distinct returns ids without repeats, in the order they first appear: an
// ImageSharing's accounts are a set, which the API server refuses to hold
// twice.
func distinct(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
