// Package imagesharing reconciles ImageSharing, in both scopes, against
// ECS: one object shares one image, or the newest versions of an image
// family, with a list of accounts. Its reads and writes go through the same
// listings and batches as ImageSharePermission's, so the two kinds on one
// image cost one read per poll and share their calls.
package imagesharing

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	clusterecsv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/cluster/ecs/v1beta1"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/common"
	ecsv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/namespaced/ecs/v1beta1"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/ecs"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/imageshares"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/controller/config"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/controller/drift"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/controller/ecsclients"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/controller/requeue"
)

// sharingResource is what both scopes' ImageSharing offer.
type sharingResource interface {
	resource.Managed
	GetParameters() common.ImageSharingParameters
	GetObservation() common.ImageSharingObservation
	SetObservation(common.ImageSharingObservation)
}

var (
	_ sharingResource = &ecsv1beta1.ImageSharing{}
	_ sharingResource = &clusterecsv1beta1.ImageSharing{}

	_ managed.TypedExternalConnector[sharingResource] = &connector{}
	_ managed.TypedExternalClient[sharingResource]    = &external{}
)

// maxRetired bounds the former versions read from status that are still
// to be unshared: a family publishes one version a poll at most in any
// real use, and status is not to be trusted with an unbounded list.
const maxRetired = 16

// connector builds an external client for one resource of either scope.
type connector struct {
	resolver *config.Resolver
	clients  *ecsclients.Clients
	held     heldFn
	requeues requeue.Reporter
	drift    drift.Reporter
}

func (c *connector) Connect(ctx context.Context, cr sharingResource) (managed.TypedExternalClient[sharingResource], error) {
	cfg, err := c.resolver.Resolve(ctx, cr, cr.GetParameters().Region)
	if err != nil {
		return nil, ecsclients.Bounded(err)
	}
	shares, err := c.clients.For(cfg)
	if err != nil {
		return nil, ecsclients.Bounded(err)
	}
	return &external{shares: shares, held: c.held, requeues: c.requeues, drift: c.drift}, nil
}

// heldFn returns the accounts among candidates whose share of the image
// another object manages (see holds.go); self is the sharing asking.
// ImageSharePermission of this provider manages.
type heldFn func(ctx context.Context, self resource.Managed, region, imageID string, candidates []string) (set, error)

// external reconciles one ImageSharing with ECS. It lives for one
// reconcile: Observe keeps its plan for the Create, Update or Delete that
// follows.
type external struct {
	shares   ecsclients.ShareClient
	held     heldFn
	requeues requeue.Reporter
	drift    drift.Reporter

	plan *plan
}

// Observe reads which images the sharing manages and who has them, and
// plans the changes. The sharing is up to date when there are none.
//
// While the object is not being deleted, its sharing exists as soon as its
// image (or family) does, and every change is an Update: crossplane-runtime
// writes the whole object around a Create, which drops the status a
// Create would report, and waits out a creation grace period before it
// believes a deletion that follows one.
func (e *external) Observe(ctx context.Context, cr sharingResource) (managed.ExternalObservation, error) {
	p := cr.GetParameters()
	deleting := meta.WasDeleted(cr)
	kept, older, err := e.keptImages(ctx, p)
	switch {
	case ecs.IsNotFound(err) && deleting:
		return managed.ExternalObservation{ResourceExists: false}, nil
	case err != nil:
		return managed.ExternalObservation{}, e.failed(cr, err)
	}
	if p.ImageFamily != "" && len(kept) == 0 && !deleting {
		// Nothing to share yet, and nothing to retire: a family whose
		// versions are all deprecated for a moment keeps what it shared.
		cr.SetConditions(xpv2.Unavailable().WithMessage(fmt.Sprintf(
			"image family %s has no Available image in %s that the provider's account owns: publish a version, or make one Available; the accounts get it at the next poll",
			p.ImageFamily, p.Region)))
		e.succeeded(cr)
		return managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: true}, nil
	}
	prev := cr.GetObservation()
	pl := &plan{wanted: wanted{
		listed: setOf(p.Accounts...), former: formerly(prev),
		exclusive: p.Exclusive, deleting: deleting,
	}}
	// An image gone while the object is deleted has no shares left; one
	// gone otherwise is an error that says so (InvalidImageId.NotFound).
	if pl.kept, err = e.read(ctx, kept, deleting); err != nil {
		return managed.ExternalObservation{}, e.failed(cr, err)
	}
	if pl.retired, err = e.read(ctx, retired(prev, kept, older, deleting), true); err != nil {
		return managed.ExternalObservation{}, e.failed(cr, err)
	}
	if err := e.hold(ctx, cr, p.Region, pl); err != nil {
		return managed.ExternalObservation{}, e.failed(cr, err)
	}
	e.plan = pl
	if deleting {
		e.report(cr)
		return managed.ExternalObservation{ResourceExists: len(pl.changes()) > 0}, nil
	}
	pl.drifted = pl.see(prev)
	e.report(cr)
	for _, img := range pl.kept {
		e.drift.Adopted(cr, img.id, img.newlyAdopted)
	}
	e.drift.Detected(cr, pl.drifted, e.drift.Corrects(cr, xpv2.ManagementActionUpdate))
	return managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: len(pl.changes()) == 0}, nil
}

// keptImages are the images the accounts are to have: the image, or the
// family's newest Available versions, newest first. older are the family's
// other versions, newest first. A family's versions are the provider's
// account's own.
func (e *external) keptImages(ctx context.Context, p common.ImageSharingParameters) (kept, older []image, err error) {
	if p.ImageFamily == "" {
		return []image{{id: p.ImageID}}, nil, nil
	}
	versions, err := e.shares.ListFamily(ctx, p.ImageFamily)
	if err != nil {
		return nil, nil, err
	}
	for _, v := range versions {
		img := image{id: v.ID, created: v.CreationTime}
		if v.Status == ecs.ImageStatusAvailable && len(kept) <= int(p.KeepPreviousVersions) {
			kept = append(kept, img)
		} else {
			older = append(older, img)
		}
	}
	return kept, older, nil
}

// retired are the family's versions the last observation managed that are
// kept no more. Only versions ListFamily returned count, so that status,
// which whoever may write it could fill with any image of the account,
// names nothing else. A first observation has none to go by: it takes the
// family's older versions instead, so that following a family that was
// shared by hand retires its old versions too; unless the object is being
// deleted, which touches only what it managed.
func retired(prev common.ImageSharingObservation, kept, older []image, deleting bool) []image {
	managedBefore := set{}
	for _, img := range prev.Images {
		managedBefore[img.ImageID] = true
	}
	for _, id := range prev.RetiredImages {
		managedBefore[id] = true
	}
	first := len(prev.Images) == 0 && !deleting
	var out []image
	for _, img := range older {
		if len(out) == maxRetired {
			break
		}
		if (managedBefore[img.id] || first) && !slices.ContainsFunc(kept, func(k image) bool { return k.id == img.id }) {
			out = append(out, image{id: img.id})
		}
	}
	return out
}

// read fills in who has each image, one listing read each, side by side.
// With dropGone, an image that is gone is dropped, as a retired one may
// be: it has no shares left.
func (e *external) read(ctx context.Context, images []image, dropGone bool) ([]image, error) {
	errs := make([]error, len(images))
	gone := make([]bool, len(images))
	var wg sync.WaitGroup
	for i := range images {
		wg.Go(func() {
			shares, err := e.shares.ListShares(ctx, images[i].id)
			images[i].shared = set{}
			for _, s := range shares {
				images[i].shared[s.AccountID] = true
			}
			if gone[i] = dropGone && ecs.IsNotFound(err); !gone[i] {
				errs[i] = err
			}
		})
	}
	wg.Wait()
	var kept []image
	for i, img := range images {
		if !gone[i] {
			kept = append(kept, img)
		}
	}
	return kept, errors.Join(errs...)
}

// hold marks, on each image, the accounts the plan would remove whose
// share another object manages: those stay (holds.go).
func (e *external) hold(ctx context.Context, self resource.Managed, region string, pl *plan) error {
	for i, images := range [][]image{pl.kept, pl.retired} {
		for j := range images {
			img := &images[j]
			candidates := pl.removable(*img, i == 1)
			if len(candidates) == 0 || e.held == nil {
				continue
			}
			held, err := e.held(ctx, self, region, img.id, candidates)
			if err != nil {
				return err
			}
			img.held = held
		}
	}
	return nil
}

// report sets the observation and Ready from the plan.
// A kept image that still has a share to remove (of an account taken off
// the list, or an unlisted one when exclusive) is not Ready either:
// otherwise, only observing, a share that someone added to an exclusive
// sharing's image would read as Ready from the poll after it was told.
func (e *external) report(cr sharingResource) {
	pl := e.plan
	cr.SetObservation(pl.observation())
	missing, extra := pl.missing(), pl.extra()
	if missing+extra == 0 {
		cr.SetConditions(xpv2.Available())
		return
	}
	var parts []string
	if missing > 0 {
		parts = append(parts, fmt.Sprintf("%d of %d accounts × images not shared yet; status.atProvider.images lists the missing accounts", missing, len(pl.wanted.listed)*len(pl.kept)))
	}
	if extra > 0 {
		parts = append(parts, fmt.Sprintf("%d shares of accounts not listed still to remove; status.atProvider lists them as unlisted or removed accounts", extra))
	}
	msg := strings.Join(parts, "; ")
	if !meta.WasDeleted(cr) && !e.drift.Corrects(cr, xpv2.ManagementActionUpdate) {
		msg += "; managementPolicies without Update leave that as it is"
	}
	cr.SetConditions(xpv2.Unavailable().WithMessage(msg))
}

// Create has nothing to do: Observe reports a sharing that is not being
// deleted as existing, so the runtime never calls it, and Update makes
// every change.
func (e *external) Create(context.Context, sharingResource) (managed.ExternalCreation, error) {
	return managed.ExternalCreation{}, nil
}

// Update makes the changes Observe planned. Those that undo drift say so,
// in an event, the drift metric and the change log.
func (e *external) Update(ctx context.Context, cr sharingResource) (managed.ExternalUpdate, error) {
	refused, err := e.apply(ctx, cr)
	if refused == nil {
		return managed.ExternalUpdate{}, err
	}
	return managed.ExternalUpdate{AdditionalDetails: e.drift.Corrected(cr, e.plan.corrected(refused))}, err
}

// Delete unshares the listed accounts from every image the sharing
// manages, except where an ImageSharePermission manages the share.
func (e *external) Delete(ctx context.Context, cr sharingResource) (managed.ExternalDelete, error) {
	_, err := e.apply(ctx, cr)
	return managed.ExternalDelete{}, err
}

// apply makes the plan's changes, each image's in its own calls, side by
// side, and reports what they achieved. The accounts ECS refused do not
// hold back the others: they are named, with ECS's reason, in the error,
// and refused tells them; it is nil when nothing was tried.
func (e *external) apply(ctx context.Context, cr sharingResource) (refused func(image, account string) bool, err error) {
	if e.plan == nil {
		return nil, errors.New("no observation to act on: Observe did not run")
	}
	changes := e.plan.changes()
	errs := make([]error, len(changes))
	var wg sync.WaitGroup
	for i, c := range changes {
		wg.Go(func() { errs[i] = e.shares.Modify(ctx, c.image, c.add, c.remove) })
	}
	wg.Wait()
	failed := map[[2]string]bool{}
	var failures []error
	for i, c := range changes {
		if errs[i] == nil {
			continue
		}
		for _, a := range failedAccounts(c, errs[i]) {
			failed[[2]string{c.image, a}] = true
		}
		failures = append(failures, describe(c, errs[i]))
	}
	refused = func(image, account string) bool { return failed[[2]string{image, account}] }
	e.plan.applied(changes, refused)
	if !meta.WasDeleted(cr) {
		e.report(cr)
	}
	if err := errors.Join(failures...); err != nil {
		return refused, e.failed(cr, err)
	}
	e.succeeded(cr)
	return refused, nil
}

// failedAccounts are the accounts of c that err says ECS refused: those
// its *imageshares.ChangeErrors name or, for an error of the whole call,
// all of them.
func failedAccounts(c change, err error) []string {
	var many interface{ Unwrap() []error }
	if !errors.As(err, &many) {
		return slices.Concat(c.add, c.remove)
	}
	var out []string
	for _, err := range many.Unwrap() {
		if change := (*imageshares.ChangeError)(nil); errors.As(err, &change) {
			out = append(out, change.Account)
		}
	}
	return out
}

// describe says which of c's accounts failed and why, grouping the
// accounts ECS refused for the same reason: fifty refusals for a full
// quota are one line, not fifty.
func describe(c change, err error) error {
	var many interface{ Unwrap() []error }
	if !errors.As(err, &many) {
		switch {
		case len(c.add) == 1 && len(c.remove) == 0:
			return fmt.Errorf("image %s: sharing with account %s failed: %w", c.image, c.add[0], err)
		case len(c.add) == 0 && len(c.remove) == 1:
			return fmt.Errorf("image %s: unsharing from account %s failed: %w", c.image, c.remove[0], err)
		}
		return fmt.Errorf("image %s: %w", c.image, err)
	}
	type group struct {
		verb     string
		accounts []string
	}
	var reasons []string
	groups := map[string]*group{}
	for _, err := range many.Unwrap() {
		change := (*imageshares.ChangeError)(nil)
		if !errors.As(err, &change) {
			continue
		}
		verb := "sharing with"
		if !change.Add {
			verb = "unsharing from"
		}
		reason := verb + "\x00" + withoutRequestID(change.Err)
		if groups[reason] == nil {
			groups[reason] = &group{verb: verb}
			reasons = append(reasons, reason)
		}
		groups[reason].accounts = append(groups[reason].accounts, change.Account)
	}
	var b strings.Builder
	for i, reason := range reasons {
		if i > 0 {
			b.WriteString("; ")
		}
		g := groups[reason]
		_, why, _ := strings.Cut(reason, "\x00")
		fmt.Fprintf(&b, "%s %s failed: %s", g.verb, drift.Accounts(g.accounts), why)
	}
	return &refusal{text: fmt.Sprintf("image %s: %s", c.image, b.String()), err: err}
}

// withoutRequestID is err's text without ECS's request id, which differs
// for every call and would part refusals of the same cause.
func withoutRequestID(err error) string {
	var ecsErr *ecs.Error
	if !errors.As(err, &ecsErr) {
		return err.Error()
	}
	e := *ecsErr
	e.RequestID = ""
	return e.Error()
}

// refusal is the accounts' refusals of one image, grouped; errors.Is and
// errors.As see each.
type refusal struct {
	text string
	err  error
}

func (r *refusal) Error() string { return r.text }
func (r *refusal) Unwrap() error { return r.err }

func (e *external) succeeded(cr sharingResource) { ecsclients.Succeeded(e.requeues, cr) }

func (e *external) failed(cr sharingResource, err error) error {
	return ecsclients.Failed(e.requeues, cr, err)
}

// Disconnect has nothing to release.
func (e *external) Disconnect(context.Context) error { return nil }
