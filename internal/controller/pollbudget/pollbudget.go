// Package pollbudget tells when the provider cannot observe every managed
// resource once per poll. N resources at --poll ask for N/poll reconciles
// a second, and --max-reconcile-rate allows at most that many, every kind
// together: beyond it each resource is observed about every N/rate
// seconds, not every poll. crossplane-runtime says nothing of it; this
// package sets a gauge and logs a line each time the poll that can be kept
// moves past what is configured, or back.
package pollbudget

import (
	"context"
	"fmt"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/pkg/logging"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Options configure a Check.
type Options struct {
	// Kube reads the resources, from the controllers' cache.
	Kube client.Reader
	// Lists are an empty list of each managed kind, both scopes.
	Lists []func() client.ObjectList
	// Poll is --poll; Rate, --max-reconcile-rate.
	Poll time.Duration
	Rate float64
	// Every is how often to count.
	Every time.Duration
	Log   logging.Logger
	// Set records the poll that can be kept, in seconds.
	Set func(seconds float64)
}

// Check counts the managed resources every so often. It is a
// controller-runtime Runnable.
type Check struct {
	o Options
	// behind is set while the poll cannot be kept, so that only changes
	// are logged.
	behind bool
}

// New returns a Check.
func New(o Options) *Check { return &Check{o: o} }

// Start counts until ctx ends.
func (c *Check) Start(ctx context.Context) error {
	t := time.NewTicker(c.o.Every)
	defer t.Stop()
	for {
		if err := c.check(ctx); err != nil {
			c.o.Log.Debug("Cannot count the managed resources", "error", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// NeedLeaderElection is false: every replica's operator wants to know.
func (c *Check) NeedLeaderElection() bool { return false }

// Kept is the poll that can be kept with n resources: the configured one,
// or n/rate seconds when the reconcile rate does not allow that.
func Kept(n int, poll time.Duration, rate float64) time.Duration {
	if rate <= 0 {
		return poll
	}
	return max(poll, time.Duration(float64(n)/rate*float64(time.Second)))
}

func (c *Check) check(ctx context.Context) error {
	n := 0
	for _, list := range c.o.Lists {
		l := list()
		if err := c.o.Kube.List(ctx, l, client.UnsafeDisableDeepCopy); err != nil {
			return err
		}
		n += meta.LenList(l)
	}
	kept := Kept(n, c.o.Poll, c.o.Rate)
	c.o.Set(kept.Seconds())
	switch behind := kept > c.o.Poll; {
	case behind && !c.behind:
		c.o.Log.Info(fmt.Sprintf("%d managed resources at --poll=%s need %.0f reconciles a second, and --max-reconcile-rate allows %.0f: each is observed about every %s, not every %s. Raise --max-reconcile-rate or --poll, or share images with ImageSharing, one object per image",
			n, c.o.Poll, float64(n)/c.o.Poll.Seconds(), c.o.Rate, kept.Round(time.Second), c.o.Poll),
			"resources", n, "keptPoll", kept.String())
		c.behind = true
	case !behind && c.behind:
		c.o.Log.Info(fmt.Sprintf("%d managed resources: each is observed every --poll=%s again", n, c.o.Poll), "resources", n)
		c.behind = false
	}
	return nil
}
