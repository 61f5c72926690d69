// Package ecsclients hands the controllers their ECS clients: one per
// resolved configuration, paced by its budget and region, and, when
// coalescing, seeing the listings and batches every controller of the
// provider shares, so that an ImageSharing and the ImageSharePermissions of
// the same image share one listing read and their writes one call.
package ecsclients

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/ecs"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/imageshares"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/controller/clientcache"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/controller/config"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/metrics"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/pacing"
)

// Options are how the controllers spend ECS's API budget. One set serves
// every kind and both scopes: ECS counts calls per account, whatever the
// resource that made them.
type Options struct {
	// NewClient builds an ECS client.
	NewClient NewClientFn
	// Coalesce lets the resources of one image share one listing read and
	// batch their shares. Off, each resource calls ECS alone: the baseline
	// the benchmark measures against.
	Coalesce bool
	// ListingFreshness is how long one listing read answers for all the
	// image's resources; 0 means the poll interval plus its jitter, so that
	// at rest reads of an image are more than a poll apart, while drift is
	// still seen within about one poll on average and two at most.
	ListingFreshness time.Duration
	// BatchWindow is how long a batch of shares waits for the next share of
	// its image; each that joins restarts it, until the batch is full.
	BatchWindow time.Duration
	// DescribeRate and ModifyRate are the calls per second the provider
	// starts with, per budget (account or configuration), region and
	// action (DescribeRate for each of the two reads); they adapt to ECS's
	// throttling.
	DescribeRate, ModifyRate float64
	// Metrics records calls, batches, listings and paced rates; nil records
	// nothing.
	Metrics *metrics.ECS
}

// PollJitterFraction spreads polls by ±1/PollJitterFraction, 10%, so that
// resources created together do not call ECS together for ever after.
const PollJitterFraction = 10

// NewClientFn builds an ECS client; tests point it at the simulator.
type NewClientFn func(ecs.Config) (ecs.Client, error)

// clientIdleAfter is how long a configuration's client outlives its last
// use. Resources reconcile at least once per poll, so only configurations
// no resource uses any more go.
const clientIdleAfter = 30 * time.Minute

// ShareClient is what the external clients need: the coalescer's view of
// an ECS client, or an ECS client alone (Direct).
type ShareClient interface {
	FindShare(ctx context.Context, imageID, accountID string) (*ecs.Share, error)
	// ListShares reads every share of the image; with the coalescer, from
	// the listing its lookups share.
	ListShares(ctx context.Context, imageID string) ([]ecs.Share, error)
	// Submit shares the image with the account (add) or unshares it. It
	// either returns ECS's answer, or queues the change and returns nil:
	// then the account's next FindShare returns the change's error, if it
	// failed, and wake is called once ECS answered.
	Submit(ctx context.Context, imageID, accountID string, add bool, wake func()) error
	// Modify adds and removes accounts, at most ecs.MaxAccountsPerCall of
	// each per call, and waits for ECS's answer. With the coalescer, the
	// error joins one *imageshares.ChangeError per account refused, and the
	// other accounts' changes are made.
	Modify(ctx context.Context, imageID string, add, remove []string) error
	// ListFamily reads the versions of an image family, newest first.
	ListFamily(ctx context.Context, family string) ([]ecs.Image, error)
	// Refused reports whether ECS refused the account's last share of the
	// image and the caller has been told: the share is not there, rather
	// than not yet listed.
	Refused(imageID, accountID string) bool
	// Forget drops what is kept of the account's failed change of the
	// image, once the resource that made it is gone.
	Forget(imageID, accountID string)
	// Close frees the client's connections once it is dropped.
	Close()
}

var (
	_ ShareClient = Direct{}
	_ ShareClient = &imageshares.Shares{}
)

// Direct is an ECS client alone: each resource calls ECS itself and waits
// for the answer.
type Direct struct{ ecs.Client }

// Submit makes the change and returns ECS's answer; it never queues.
func (d Direct) Submit(ctx context.Context, imageID, accountID string, add bool, _ func()) error {
	if add {
		return d.AddAccounts(ctx, imageID, accountID)
	}
	return d.RemoveAccounts(ctx, imageID, accountID)
}

// Refused is always false: a direct Create returns ECS's refusal, and the
// runtime records the creation as failed, not as one whose share may yet
// be listed.
func (Direct) Refused(string, string) bool { return false }

// Forget has nothing to drop: a direct client keeps no failures.
func (Direct) Forget(string, string) {}

// Clients hands out one ShareClient per resolved configuration, built
// once and kept while it is used, with the pacer of its budget and region
// and, when coalescing, its view of the shared listings and batches.
type Clients struct {
	newClient NewClientFn
	pacers    *pacing.Pacers
	coalescer *imageshares.Coalescer // nil: every resource calls ECS alone
	metrics   *metrics.ECS
	cache     *clientcache.Cache[ShareClient]
}

// New returns the Clients of controllers that poll every poll.
func New(o Options, poll time.Duration) *Clients {
	c := &Clients{
		newClient: o.NewClient,
		metrics:   o.Metrics,
		cache:     clientcache.New(clientIdleAfter, ShareClient.Close),
		pacers: pacing.New(pacing.Options{
			// ECS limits DescribeImages apart from the share listing; an
			// ImageSharing of a family reads it once a poll, so the
			// listings' starting pace serves it too.
			Rates: map[string]float64{ecs.ActionDescribe: o.DescribeRate, ecs.ActionDescribeImages: o.DescribeRate, ecs.ActionModify: o.ModifyRate},
			OnRate: func(k pacing.Key, action string, perSecond float64) {
				o.Metrics.PacedRate(action, k.Region, k.Budget, k.Endpoint, perSecond)
			},
			OnEvict: func(k pacing.Key, action string) {
				o.Metrics.PacerGone(action, k.Region, k.Budget, k.Endpoint)
			},
		}),
	}
	if o.Coalesce {
		c.coalescer = imageshares.New(imageshares.Options{
			Freshness: cmp.Or(o.ListingFreshness, poll+poll/PollJitterFraction),
			Window:    o.BatchWindow,
			Metrics:   o.Metrics,
		})
	}
	return c
}

// Metrics are the metrics the clients record, which the controllers add
// to with what they alone know (drift corrected); nil records nothing.
func (c *Clients) Metrics() *metrics.ECS { return c.metrics }

// For returns the client of a resolved configuration. Its key is
// everything the client is built from (see config.Resolved.Key), so a
// changed ProviderConfig or Secret gets a new client, and no configuration
// ever gets another's, nor its listings, nor its pacer. Its listings and
// batches are kept by the configuration's Scope, which its budget is not
// part of.
func (c *Clients) For(r config.Resolved) (ShareClient, error) {
	return c.cache.Get(r.Key, func() (ShareClient, error) {
		cfg := r.Config
		cfg.Pacer = c.pacers.For(pacing.Key{Budget: r.Budget, Endpoint: cfg.Endpoint, Region: cfg.Region})
		cfg.Metrics = c.metrics
		client, err := c.newClient(cfg)
		if err != nil {
			return nil, fmt.Errorf("cannot create ECS client: %w", err)
		}
		if c.coalescer == nil {
			return Direct{client}, nil
		}
		return c.coalescer.For(r.Scope, client), nil
	})
}
