package main

import (
	"context"

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
// its own namespace.
const (
	shareAPIVersion = "ecs.alibabacloud.m.crossplane.io/v1beta1"
	shareKind       = "ImageSharePermission"
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

// Function composes one ImageSharePermission per distinct account of an
// ImageShare.
type Function struct {
	fnv1.UnimplementedFunctionRunnerServiceServer

	log logging.Logger
}

// RunFunction desires an ImageSharePermission per account and reports on the
// XR which accounts the image is shared with so far.
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
	sharedWith := []string{}
	for _, account := range accounts {
		name := resourceName(account)
		share, err := newShare(spec, account, oxr.Resource.GetNamespace())
		if err != nil {
			response.Fatal(rsp, errors.Wrapf(err, "cannot compose the share with account %s", account))
			return rsp, nil
		}
		// Crossplane counts a composed resource as ready only when a function
		// says so, and the XR is ready only when all of them are.
		if o, ok := observed[name]; ok && o.Resource.GetCondition(xpv2.TypeReady).Status == corev1.ConditionTrue {
			share.Ready = resource.ReadyTrue
			sharedWith = append(sharedWith, account)
		}
		desired[name] = share
	}
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

	log.Debug("Composed image shares", "image", spec.ImageID, "accounts", len(accounts), "ready", len(sharedWith))
	response.Normalf(rsp, "image %s in %s: shared with %d of %d accounts", spec.ImageID, spec.Region, len(sharedWith), len(accounts))
	return rsp, nil
}

// resourceName names an account's share within the composition, so that the
// same account keeps the same ImageSharePermission from one run to the next.
func resourceName(account string) resource.Name {
	return resource.Name("share-" + account)
}

func newShare(spec imageShareSpec, account, namespace string) (*resource.DesiredComposed, error) {
	cd := composed.New()
	cd.SetAPIVersion(shareAPIVersion)
	cd.SetKind(shareKind)
	cd.SetNamespace(namespace)
	if err := cd.SetValue("spec.forProvider", map[string]any{
		"region":    spec.Region,
		"imageId":   spec.ImageID,
		"accountId": account,
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

// distinct returns ids without repeats, in the order they first appear: a
// repeated account would otherwise be two objects fighting over one share.
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
