// Package externalname sets a managed resource's external name from its
// spec before anything is created, as every kind of this provider names
// what it manages deterministically.
package externalname

import (
	"context"
	"errors"
	"fmt"

	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Initializer sets the external name to what the spec names, so that a
// crash between the ECS call and the annotation write leaks nothing. It
// replaces crossplane-runtime's default, which would use metadata.name. An
// annotation a person set to adopt an existing share must agree with
// forProvider.
//
// On a resource the reconciler has not yet finalized it sets the name in
// memory only: the reconciler's next write, which adds its finalizer before
// any ECS call, stores it. A write of its own would double the writes of a
// new resource's first reconcile, and at a thousand new resources the API
// server's time is what they wait for.
type Initializer[T resource.Managed] struct {
	Kube client.Client
	// Want is the external name the spec names.
	Want func(T) string
	// Valid reports whether a name has the kind's form, which Form
	// describes, such as "<image_id>:<account_id>".
	Valid func(string) bool
	Form  string
	// Fields names the spec fields the name comes from, for the message
	// of a name that disagrees with them.
	Fields string
}

var errWrongKind = errors.New("managed resource is not of the kind its initializer serves")

// Initialize sets or checks the external name.
func (i Initializer[T]) Initialize(ctx context.Context, mg resource.Managed) error {
	cr, ok := mg.(T)
	if !ok {
		return errWrongKind
	}
	want := i.Want(cr)
	got := meta.GetExternalName(cr)
	if got == want {
		return nil
	}
	if got != "" {
		if !i.Valid(got) {
			return fmt.Errorf("external name %q is malformed: it must be %s, here %q", got, i.Form, want)
		}
		return fmt.Errorf("external name %q does not match spec.forProvider, which names %q: set the crossplane.io/external-name annotation to %q, or %s to what you mean to adopt",
			got, want, want, i.Fields)
	}
	meta.SetExternalName(cr, want)
	if !meta.FinalizerExists(cr, managed.FinalizerName) {
		return nil
	}
	if err := i.Kube.Update(ctx, cr); err != nil {
		return fmt.Errorf("cannot set external name: %w", err)
	}
	return nil
}
