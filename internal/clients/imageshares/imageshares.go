// Package imageshares shares ECS work on one image among the resources that
// share it. One DescribeImageSharePermission listing, read once, answers
// every lookup of the same image by the same tenant while it is fresh, and
// the accounts added to and removed from the image go out together in few
// ModifyImageSharePermission calls. Without it, a thousand permissions on
// one image cost a thousand reads per poll and a thousand writes to create;
// ECS's rate limits count every one. It knows nothing of Kubernetes.
package imageshares

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/ecs"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/metrics"
)

const (
	// maxWindows bounds how long a stream of writes can hold a batch open.
	maxWindows = 4

	defaultCallTimeout = time.Minute
	minIdleAfter       = time.Minute
)

// Options configure a Coalescer.
type Options struct {
	// Freshness is how long a listing serves later lookups, counted from
	// when its read started. Zero shares only reads in flight.
	Freshness time.Duration
	// Window is how long, on the real clock, a batch waits for the next
	// write on its image: each write that joins gives the batch another
	// Window, up to maxWindows Windows in all. Writes that come in a stream,
	// as when kubectl applies a manifest of shares one by one, thus fill
	// batches, while a lone write waits only one Window. Zero sends at once
	// what arrived together.
	Window time.Duration
	// IdleAfter is how long an image may go unused before what is kept of
	// it is dropped; zero means twice Freshness, and at least a minute.
	IdleAfter time.Duration
	// CallTimeout bounds each shared read and each write call, which run
	// detached from the callers that wait for them; zero means a minute.
	CallTimeout time.Duration
	// Metrics, if set, records how lookups were answered and how many
	// accounts each write call carried.
	Metrics *metrics.ECS
	// Now is the clock of Freshness and IdleAfter; nil means time.Now.
	Now func() time.Time
}

// A Coalescer shares reads and batches writes per tenant scope and image.
// It is safe for concurrent use. Its goroutines live only while a read or a
// batch is under way.
type Coalescer struct {
	freshness, window, idleAfter, callTimeout time.Duration
	metrics                                   *metrics.ECS
	now                                       func() time.Time

	mu      sync.Mutex
	entries map[key]*entry
	// swept is when entries were last swept of idle ones.
	swept time.Time
}

// key names what may be shared: an image as one tenant scope sees it.
// Another scope may see a different image, or none, under the same id.
type key struct{ scope, image string }

// entry is what is known and under way for one key; guarded by the
// Coalescer's mutex.
type entry struct {
	used time.Time

	// listing is the image's shares by account, as last read and changed
	// since by our own writes; nil when there is none to trust.
	listing map[string]ecs.Share
	// listedAt is when listing's read started: the share list may have
	// changed from then on.
	listedAt time.Time
	read     *read

	// open is the batch that writes join; queue holds batches sealed and
	// waiting their turn, sent one at a time so that an account's adds and
	// removes apply in the order they arrived.
	open    *batch
	queue   []*batch
	sending bool
}

// idle reports whether nothing is under way, so that the entry may go.
func (e *entry) idle() bool { return e.read == nil && e.open == nil && !e.sending }

// read is one DescribeImageSharePermission listing in flight and its result.
type read struct {
	started time.Time
	done    chan struct{}
	// writes succeeded while the read was in flight, which its result may
	// predate; they are applied on top of it.
	writes []*op
	// spoiled is set when a write failed while the read was in flight:
	// what it applied is unknown, so the result is not kept.
	spoiled bool

	// Set before done is closed.
	listing map[string]ecs.Share
	err     error
}

// op is one account to add or remove, and its outcome.
type op struct {
	account string
	add     bool
	done    chan struct{}
	err     error // set before done is closed
}

func (o *op) finish(err error) {
	o.err = err
	close(o.done)
}

// batch is the ops that go out in one ModifyImageSharePermission call.
type batch struct {
	// ctx is detached from every caller, so that one giving up does not fail
	// the others; it keeps the values of the caller that opened the batch.
	ctx    context.Context
	client ecs.Client
	image  string
	ops    []*op
	// adds and removes count the ops of each kind: each kind fills up at
	// ecs.MaxAccountsPerCall.
	adds, removes int
	// timer seals the batch when its Window ends; deadline is when it must
	// be sealed, however many writes keep coming.
	timer    *time.Timer
	deadline time.Time
}

func (b *batch) has(account string) bool {
	return slices.ContainsFunc(b.ops, func(o *op) bool { return o.account == account })
}

// New returns a Coalescer. The controller setup makes one and hands it to
// every connection it makes.
func New(o Options) *Coalescer {
	c := &Coalescer{
		freshness:   o.Freshness,
		window:      o.Window,
		idleAfter:   positiveOr(o.IdleAfter, max(2*o.Freshness, minIdleAfter)),
		callTimeout: positiveOr(o.CallTimeout, defaultCallTimeout),
		metrics:     o.Metrics,
		now:         o.Now,
		entries:     map[key]*entry{},
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c
}

// positiveOr is d if positive, else def: a negative IdleAfter or
// CallTimeout would drop or time out everything.
func positiveOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// For returns the view of one tenant scope. scope identifies what the
// caller sees of ECS: the ProviderConfig, credentials, endpoint and region.
// Listings and batches of different scopes never mix; every client given
// for one scope must be equivalent, as whichever opened a read or a batch
// makes its calls.
func (c *Coalescer) For(scope string, client ecs.Client) *Shares {
	return &Shares{c: c, scope: scope, client: client}
}

// entry returns the entry for k, made if need be, marked used at now. Every
// IdleAfter, it first drops the entries idle for that long.
func (c *Coalescer) entry(k key, now time.Time) *entry {
	if now.Sub(c.swept) >= c.idleAfter {
		c.swept = now
		for k, e := range c.entries {
			if e.idle() && now.Sub(e.used) >= c.idleAfter {
				delete(c.entries, k)
			}
		}
	}
	e := c.entries[k]
	if e == nil {
		e = &entry{}
		c.entries[k] = e
	}
	e.used = now
	return e
}

// Shares is a Coalescer seen from one tenant scope. Its methods mean what
// ecs.Client's of the same name do.
type Shares struct {
	c      *Coalescer
	scope  string
	client ecs.Client
}

// Close closes the scope's ECS client, once the scope is no longer used.
func (s *Shares) Close() { s.client.Close() }

// FindShare answers from the image's listing: a fresh one, the one being
// read, or a new read. It returns nil, nil when the image exists but is not
// shared with accountID. A share known only from our own add has a zero
// SharedTime and Region.
func (s *Shares) FindShare(ctx context.Context, imageID, accountID string) (*ecs.Share, error) {
	if imageID == "" || accountID == "" {
		return nil, errors.New("FindShare needs an image id and an account id")
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%s not called: %w", ecs.ActionDescribe, err)
	}
	c := s.c
	c.mu.Lock()
	now := c.now()
	e := c.entry(key{s.scope, imageID}, now)
	if e.listing != nil && now.Sub(e.listedAt) < c.freshness {
		share := lookup(e.listing, accountID)
		c.mu.Unlock()
		c.metrics.Listing(metrics.ListingHit)
		return share, nil
	}
	r := e.read
	if r == nil {
		r = &read{started: now, done: make(chan struct{})}
		e.read = r
		go c.list(context.WithoutCancel(ctx), s.client, imageID, e, r)
		c.metrics.Listing(metrics.ListingMiss)
	} else {
		c.metrics.Listing(metrics.ListingJoined)
	}
	c.mu.Unlock()

	select {
	case <-r.done:
	case <-ctx.Done():
		return nil, fmt.Errorf("stopped waiting for %s: %w", ecs.ActionDescribe, ctx.Err())
	}
	if r.err != nil {
		return nil, r.err
	}
	// Our own writes change the listing under the lock once it is kept.
	c.mu.Lock()
	defer c.mu.Unlock()
	return lookup(r.listing, accountID), nil
}

func lookup(listing map[string]ecs.Share, accountID string) *ecs.Share {
	if s, ok := listing[accountID]; ok {
		return &s
	}
	return nil
}

// list reads the image's listing for r and its waiters, and keeps it unless
// it failed or a write failed meanwhile.
func (c *Coalescer) list(ctx context.Context, client ecs.Client, image string, e *entry, r *read) {
	ctx, cancel := context.WithTimeout(ctx, c.callTimeout)
	shares, err := client.ListShares(ctx, image)
	cancel()

	c.mu.Lock()
	e.read, e.used = nil, c.now()
	if err != nil {
		r.err = err
	} else {
		listing := make(map[string]ecs.Share, len(shares))
		for _, s := range shares {
			listing[s.AccountID] = s
		}
		apply(listing, image, r.writes)
		r.listing = listing
		if !r.spoiled {
			e.listing, e.listedAt = listing, r.started
		}
	}
	c.mu.Unlock()
	close(r.done)
}

// apply makes a listing say what successful writes did. An account added
// keeps the SharedTime it was listed with: adding it again changed nothing.
func apply(listing map[string]ecs.Share, image string, ops []*op) {
	for _, o := range ops {
		if !o.add {
			delete(listing, o.account)
			continue
		}
		if _, known := listing[o.account]; !known {
			listing[o.account] = ecs.Share{ImageID: image, AccountID: o.account}
		}
	}
}

// AddAccounts shares the image with the accounts, in the image's next
// batch. With several accounts, the error joins each account's own.
func (s *Shares) AddAccounts(ctx context.Context, imageID string, accountIDs ...string) error {
	return s.modify(ctx, imageID, true, accountIDs)
}

// RemoveAccounts unshares the image from the accounts, in the image's next
// batch. With several accounts, the error joins each account's own.
func (s *Shares) RemoveAccounts(ctx context.Context, imageID string, accountIDs ...string) error {
	return s.modify(ctx, imageID, false, accountIDs)
}

func (s *Shares) modify(ctx context.Context, imageID string, add bool, accountIDs []string) error {
	// Refused here, a malformed op cannot fail a batch it would have joined.
	if imageID == "" || slices.Contains(accountIDs, "") {
		return errors.New(ecs.ActionModify + " needs an image id and non-empty account ids")
	}
	if len(accountIDs) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s not called: %w", ecs.ActionModify, err)
	}
	c := s.c
	ops := make([]*op, len(accountIDs))
	c.mu.Lock()
	e := c.entry(key{s.scope, imageID}, c.now())
	for i, a := range accountIDs {
		ops[i] = &op{account: a, add: add, done: make(chan struct{})}
		c.join(ctx, s.client, imageID, e, ops[i])
	}
	c.mu.Unlock()

	errs := make([]error, len(ops))
	for i, o := range ops {
		select {
		case <-o.done:
			errs[i] = o.err
		case <-ctx.Done():
			// The op may still be sent, which is harmless: it is idempotent.
			errs[i] = fmt.Errorf("stopped waiting for %s: %w", ecs.ActionModify, ctx.Err())
		}
	}
	if len(ops) == 1 {
		return errs[0]
	}
	for i, err := range errs {
		if err != nil {
			// ECS's errors do not say which account they concern.
			errs[i] = fmt.Errorf("account %s: %w", ops[i].account, err)
		}
	}
	return errors.Join(errs...)
}

// join adds o to the image's open batch, opening one if need be, and seals
// the batch when it is full. An account already in the open batch seals it
// first: ECS applies a call's removes before its adds whatever their order,
// so an account's ops must go in calls of their own, in order.
func (c *Coalescer) join(ctx context.Context, client ecs.Client, image string, e *entry, o *op) {
	if b := e.open; b != nil && b.has(o.account) {
		c.seal(e, b)
	}
	b := e.open
	if b == nil {
		b = &batch{ctx: context.WithoutCancel(ctx), client: client, image: image, deadline: time.Now().Add(maxWindows * c.window)}
		e.open = b
		b.timer = time.AfterFunc(c.window, func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			if e.open == b {
				c.seal(e, b)
			}
		})
	} else {
		// A timer that has fired meanwhile seals the batch anyway; the
		// reset one then finds it sealed and does nothing.
		b.timer.Reset(min(c.window, time.Until(b.deadline)))
	}
	b.ops = append(b.ops, o)
	if o.add {
		b.adds++
	} else {
		b.removes++
	}
	if b.adds == ecs.MaxAccountsPerCall || b.removes == ecs.MaxAccountsPerCall {
		c.seal(e, b)
	}
}

// seal closes the open batch b to newcomers and queues it to be sent,
// starting the image's sender if it is not running.
func (c *Coalescer) seal(e *entry, b *batch) {
	b.timer.Stop()
	e.open = nil
	e.queue = append(e.queue, b)
	if !e.sending {
		e.sending = true
		go c.send(e)
	}
}

// send sends the image's queued batches, one at a time, until none is left.
func (c *Coalescer) send(e *entry) {
	for {
		c.mu.Lock()
		if len(e.queue) == 0 {
			e.sending, e.used = false, c.now()
			c.mu.Unlock()
			return
		}
		b := e.queue[0]
		e.queue[0] = nil
		e.queue = e.queue[1:]
		c.mu.Unlock()

		err := c.call(b.ctx, e, b, b.ops)
		if err != nil && len(b.ops) > 1 && ecs.IsAccountError(err) {
			// ECS does not say which account failed the call: one call per
			// account, in arrival order, shares the good ones and tells
			// each caller its own cause.
			for _, o := range b.ops {
				o.finish(c.call(b.ctx, e, b, []*op{o}))
			}
			continue
		}
		for _, o := range b.ops {
			o.finish(err)
		}
	}
}

// call makes one ModifyImageSharePermission call of ops and brings the
// image's listing, and any read in flight, up to date with its outcome.
func (c *Coalescer) call(ctx context.Context, e *entry, b *batch, ops []*op) error {
	var adds, removes []string
	for _, o := range ops {
		if o.add {
			adds = append(adds, o.account)
		} else {
			removes = append(removes, o.account)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, c.callTimeout)
	defer cancel()
	c.metrics.Batch(len(ops))
	err := b.client.Modify(ctx, b.image, adds, removes)

	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		// Whether any of it applied is unknown: a call can fail after ECS
		// carried it out.
		e.listing = nil
		if e.read != nil {
			e.read.spoiled = true
		}
		return err
	}
	if e.listing != nil {
		apply(e.listing, b.image, ops)
	}
	if e.read != nil {
		e.read.writes = append(e.read.writes, ops...)
	}
	return nil
}
