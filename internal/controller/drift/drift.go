// Package drift tells users what a managed resource found in ECS that the
// provider did not do, for either managed kind: a share it manages that
// someone removed (or, for an exclusive ImageSharing, one that someone
// added), and a share already in place when a resource first saw it, which
// it takes over. Each is an event on the resource; a correction also counts
// in drift_corrections_total and names itself in the change log, so that
// "created", "taken over" and "put back" read apart.
package drift

import (
	"fmt"
	"strings"

	"github.com/crossplane/crossplane-runtime/v2/pkg/event"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
)

// Event reasons.
const (
	ReasonAdopted   event.Reason = "AdoptedExistingShare"
	ReasonDetected  event.Reason = "DriftDetected"
	ReasonCorrected event.Reason = "DriftCorrected"
)

// DetailKey is the change log's additional detail that marks a create or
// update as a drift correction; its value says what was corrected.
const DetailKey = "driftCorrection"

// Shares are one image's drifted shares: accounts that lost a share the
// resource manages, and accounts that gained one it forbids.
type Shares struct {
	Image             string
	Missing, Unwanted []string
}

// Empty reports whether nothing drifted.
func (s Shares) Empty() bool { return len(s.Missing)+len(s.Unwanted) == 0 }

func (s Shares) String() string {
	var parts []string
	if len(s.Missing) > 0 {
		parts = append(parts, "no longer shared with "+Accounts(s.Missing))
	}
	if len(s.Unwanted) > 0 {
		parts = append(parts, "shared with unlisted "+Accounts(s.Unwanted))
	}
	return fmt.Sprintf("image %s %s", s.Image, strings.Join(parts, " and "))
}

// count is how many shares drifted.
func (s Shares) count() int { return len(s.Missing) + len(s.Unwanted) }

// Reporter reports one kind's drift and adoptions.
type Reporter struct {
	// Kind names the managed kind in the metric.
	Kind string
	// Events records events on the resource; nil records none.
	Events event.Recorder
	// Counted adds corrected shares to drift_corrections_total; nil counts
	// nothing.
	Counted func(kind string, shares int)
	// Policies is whether management policies are enabled; off, every
	// resource is fully managed, whatever its policies say.
	Policies bool
}

// Corrects reports whether cr's management policies let the provider
// correct its drift with action: Create for an ImageSharePermission,
// Update for an ImageSharing.
func (r Reporter) Corrects(cr resource.Managed, action xpv2.ManagementAction) bool {
	p := managed.NewManagementPoliciesResolver(r.Policies, cr.GetManagementPolicies())
	if action == xpv2.ManagementActionCreate {
		return p.ShouldCreate()
	}
	return p.ShouldUpdate()
}

// Adopted tells that accounts already had image when cr first saw it: cr
// takes their shares over rather than makes them.
func (r Reporter) Adopted(cr resource.Managed, image string, accounts []string) {
	if len(accounts) == 0 {
		return
	}
	r.record(cr, event.Normal(ReasonAdopted, fmt.Sprintf(
		"image %s was already shared with %s: taken over, not created; deleting this resource unshares it unless its deletionPolicy is Orphan",
		image, Accounts(accounts))))
}

// Detected tells that drift was found, and whether cr's management
// policies let the provider correct it. Uncorrected, it is also cr's Ready
// condition, since nothing else would put it there.
func (r Reporter) Detected(cr resource.Managed, drifted []Shares, corrects bool) {
	what := describe(drifted)
	if what == "" {
		return
	}
	if corrects {
		r.record(cr, event.Normal(ReasonDetected, what+", a change this resource did not make: it corrects that now"))
		return
	}
	msg := what + ", a change this resource did not make: its managementPolicies do not let it correct that; add Create and Update to them to have it corrected, or change the shares in ECS"
	r.record(cr, event.Normal(ReasonDetected, msg))
	cr.SetConditions(xpv2.Unavailable().WithMessage(msg))
}

// Corrected tells that the provider made the calls that undo drift, counts
// them, and returns the change log's details that say so; nil when
// nothing drifted.
func (r Reporter) Corrected(cr resource.Managed, drifted []Shares) managed.AdditionalDetails {
	what := describe(drifted)
	if what == "" {
		return nil
	}
	n := 0
	for _, s := range drifted {
		n += s.count()
	}
	if r.Counted != nil {
		r.Counted(r.Kind, n)
	}
	r.record(cr, event.Normal(ReasonCorrected, "corrected drift: "+what))
	return managed.AdditionalDetails{DetailKey: what}
}

func (r Reporter) record(cr resource.Managed, e event.Event) {
	if r.Events != nil {
		r.Events.Event(cr, e)
	}
}

// maxImages bounds the images one message names.
const maxImages = 3

func describe(drifted []Shares) string {
	var parts []string
	for _, s := range drifted {
		if s.Empty() {
			continue
		}
		parts = append(parts, s.String())
	}
	if len(parts) > maxImages {
		parts = append(parts[:maxImages], fmt.Sprintf("%d more images", len(parts)-maxImages))
	}
	return strings.Join(parts, "; ")
}

// maxNamed bounds the accounts a message names, so that fifty of them
// leave room for the rest of the message within a condition's or an
// event's bound.
const maxNamed = 5

// Accounts names accounts, up to maxNamed: "account A", "accounts A, B"
// or "12 accounts (A, B, C, D, E and 7 more)".
func Accounts(accounts []string) string {
	switch n := len(accounts); {
	case n == 1:
		return "account " + accounts[0]
	case n <= maxNamed:
		return "accounts " + strings.Join(accounts, ", ")
	default:
		return fmt.Sprintf("%d accounts (%s and %d more)", n, strings.Join(accounts[:maxNamed], ", "), n-maxNamed)
	}
}
