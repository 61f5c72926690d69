// Package imageshares shares ECS work on one image among the resources that
// share it. One DescribeImageSharePermission listing, read once, answers
// every lookup of the same image by the same tenant while it is fresh, and
// the accounts added to and removed from the image go out together in few
// ModifyImageSharePermission calls. Without it, a thousand permissions on
// one image cost a thousand reads per poll and a thousand writes to create;
// ECS's rate limits count every one. It knows nothing of Kubernetes.
//
// Writes wait in one queue per image, in arrival order. The image's sender
// starts a call once the head of the queue fills one or the batch window
// has passed, and the call takes from the head as much as it carries only
// when its turn under the pacer comes: what arrived while it waited goes
// in it, and what arrives while it is under way joins the next. So calls
// fill whenever ECS's rate limit binds, whether shares arrive one by one or
// all at once; and while it binds, a short batch waits for more (holds).
// Submit queues a write and returns at once, so that a share waiting for
// its call holds nothing of its caller's.
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
	defaultCallTimeout = time.Minute
	minIdleAfter       = time.Minute
)

// Options configure a Coalescer.
type Options struct {
	// Freshness is how long a listing serves later lookups, counted from
	// when its read started. Zero shares only reads in flight.
	Freshness time.Duration
	// Window is how long, on the real clock, writes that do not fill a call
	// wait for the next write on their image: each write that joins gives
	// them another Window. Writes that come in a stream, as when kubectl
	// applies or deletes a manifest of shares one by one, thus fill calls
	// however slowly the API server hands them over, as long as each comes
	// within a Window of the last, while a lone write waits only one
	// Window. A stream cannot hold a batch open for long: a call is full
	// with ecs.MaxAccountsPerCall adds or removes, so its oldest write
	// waits at most 2*ecs.MaxAccountsPerCall-1 Windows. While calls have
	// lately waited for turns under the client's pacer, Submit's writes
	// wait that long for more even when none comes within a Window. Zero
	// sends at once what arrived together.
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

	// waiting holds the writes not yet taken into a call, in arrival
	// order; calls go one at a time, so that an account's adds and removes
	// apply in that order.
	waiting []*op
	// timer starts the sender when the window after the last write ends;
	// nil when none is set.
	timer *time.Timer
	// sending is set while the image's sender runs; due, when the sender is
	// to take the head of waiting even if it does not fill a call.
	sending, due bool

	// submitted is the queued or unanswered Submit of each account;
	// failed, how an account's last change failed, if it did, until its
	// next Submit.
	submitted map[string]*op
	failed    map[string]*ChangeError
}

// idle reports whether nothing is under way, so that the entry may go. The
// failures kept go with it: the accounts' next Submits queue again.
func (e *entry) idle() bool { return e.read == nil && len(e.waiting) == 0 && !e.sending }

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

// ChangeError is how a submitted change failed, as FindShare returns it.
type ChangeError struct {
	Account string
	// Add is set for a share, clear for an unshare.
	Add bool
	Err error
	// told is set once FindShare returned it, or the caller of a Submit
	// that waited had it.
	told bool
}

func (e *ChangeError) Error() string {
	if e.Add {
		return fmt.Sprintf("sharing the image with account %s failed: %v", e.Account, e.Err)
	}
	return fmt.Sprintf("unsharing the image from account %s failed: %v", e.Account, e.Err)
}

func (e *ChangeError) Unwrap() error { return e.Err }

// op is one account to add or remove, and its outcome.
type op struct {
	account string
	add     bool
	// ctx is detached from the caller, so that one giving up does not fail
	// the call the op shares with others; it keeps the caller's values.
	// client makes the call, should the op be at its head.
	ctx    context.Context
	client ecs.Client
	// submitted marks an op of Submit: its failure is kept for FindShare,
	// and wakes are called once it is answered.
	submitted bool
	wakes     []func()
	// queued is when the op joined, on the real clock, as the Window is.
	queued time.Time

	done chan struct{}
	err  error // set before done is closed
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
// for one scope must see ECS alike, as whichever opened a read or a batch
// makes its calls. They may pace differently: a configuration's client
// before its identity check counts against the configuration's budget,
// the one after it against its account's, and a batch opened just before
// the check goes at the first's pace.
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
// SharedTime and Region. If the account's last queued Submit failed, the
// first FindShare after it returns that failure, a *ChangeError, instead.
func (s *Shares) FindShare(ctx context.Context, imageID, accountID string) (*ecs.Share, error) {
	if imageID == "" || accountID == "" {
		return nil, errors.New("FindShare needs an image id and an account id")
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%s not called: %w", ecs.ActionDescribe, err)
	}
	c := s.c
	c.mu.Lock()
	e := c.entry(key{s.scope, imageID}, c.now())
	if f := e.failed[accountID]; f != nil && !f.told {
		// Told once: the caller retries at its own pace, and its retry
		// waits for ECS's answer (Submit).
		f.told = true
		c.mu.Unlock()
		return nil, f
	}
	var share *ecs.Share
	err := s.listing(ctx, imageID, e, func(listing map[string]ecs.Share) { share = lookup(listing, accountID) })
	return share, err
}

// ListShares answers from the image's listing as FindShare does: every
// share of the image, in no order. The failures kept for FindShare are not
// returned.
func (s *Shares) ListShares(ctx context.Context, imageID string) ([]ecs.Share, error) {
	if imageID == "" {
		return nil, errors.New("ListShares needs an image id")
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%s not called: %w", ecs.ActionDescribe, err)
	}
	c := s.c
	c.mu.Lock()
	e := c.entry(key{s.scope, imageID}, c.now())
	var shares []ecs.Share
	err := s.listing(ctx, imageID, e, func(listing map[string]ecs.Share) {
		shares = make([]ecs.Share, 0, len(listing))
		for _, sh := range listing {
			shares = append(shares, sh)
		}
	})
	return shares, err
}

// listing gives use the image's listing, a fresh one, the one being read
// or a new read, under the lock: our own writes change it once it is kept.
// The caller holds the lock, which listing releases.
func (s *Shares) listing(ctx context.Context, imageID string, e *entry, use func(map[string]ecs.Share)) error {
	c := s.c
	if e.listing != nil && c.now().Sub(e.listedAt) < c.freshness {
		use(e.listing)
		c.mu.Unlock()
		c.metrics.Listing(metrics.ListingHit)
		return nil
	}
	r := e.read
	if r == nil {
		r = &read{started: c.now(), done: make(chan struct{})}
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
		return fmt.Errorf("stopped waiting for %s: %w", ecs.ActionDescribe, ctx.Err())
	}
	if r.err != nil {
		return r.err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	use(r.listing)
	return nil
}

// ListFamily reads the family's versions; nothing of it is shared.
func (s *Shares) ListFamily(ctx context.Context, family string) ([]ecs.Image, error) {
	return s.client.ListFamily(ctx, family)
}

// Refused reports whether ECS refused the account's last share of the
// image, so that it applied nothing, and that refusal has been told (by
// FindShare, or by the Submit that waited for it): until a change of the
// account goes through, the share is known not to be there, rather than
// not yet listed.
func (s *Shares) Refused(imageID, accountID string) bool {
	c := s.c
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[key{s.scope, imageID}]
	if e == nil {
		return false
	}
	f := e.failed[accountID]
	return f != nil && f.told && f.Add && ecs.NotApplied(f.Err)
}

// Forget drops the account's failed change of the image, once the
// resource that made it is gone. Failures otherwise go only with the
// account's next Submit or with the idle image, so an image in use would
// keep one for every account a tenant ever had refused on it.
func (s *Shares) Forget(imageID, accountID string) {
	c := s.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.entries[key{s.scope, imageID}]; e != nil {
		delete(e.failed, accountID)
	}
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
// calls, and waits for ECS's answer. With several accounts, the error joins
// a *ChangeError for each account refused.
func (s *Shares) AddAccounts(ctx context.Context, imageID string, accountIDs ...string) error {
	return s.Modify(ctx, imageID, accountIDs, nil)
}

// RemoveAccounts unshares the image from the accounts, in the image's next
// calls, and waits for ECS's answer. With several accounts, the error joins
// a *ChangeError for each account refused.
func (s *Shares) RemoveAccounts(ctx context.Context, imageID string, accountIDs ...string) error {
	return s.Modify(ctx, imageID, nil, accountIDs)
}

// Submit shares the image with the account (add) or unshares it. A change
// is queued and Submit returns at once, so that a change waiting for its
// call holds nothing of its caller's; wake, if not nil, is called once ECS
// answered, on the Coalescer's goroutine, and must not block. An account
// whose same change is already queued or under way is not queued again:
// its wake is called when that one is answered.
//
// If ECS refuses a queued change, the account's next FindShare returns the
// refusal, and its next Submit waits for ECS's answer and returns it, as
// AddAccounts and RemoveAccounts do, until a change of the account goes
// through. A caller that retries a refused change thus sees each refusal
// where it made the change, and backs off as it would without the
// Coalescer, while the changes that go through never wait.
func (s *Shares) Submit(ctx context.Context, imageID, accountID string, add bool, wake func()) error {
	if imageID == "" || accountID == "" {
		return errors.New(ecs.ActionModify + " needs an image id and an account id")
	}
	c := s.c
	k := key{s.scope, imageID}
	c.mu.Lock()
	e := c.entry(k, c.now())
	if e.failed[accountID] != nil {
		delete(e.failed, accountID)
		c.mu.Unlock()
		var adds, removes []string
		if add {
			adds = []string{accountID}
		} else {
			removes = []string{accountID}
		}
		err := s.Modify(ctx, imageID, adds, removes)
		if err != nil {
			c.mu.Lock()
			c.entry(k, c.now()).fail(&ChangeError{Account: accountID, Add: add, Err: err, told: true})
			c.mu.Unlock()
		}
		return err
	}
	defer c.mu.Unlock()
	if o := e.submitted[accountID]; o != nil && o.add == add {
		if wake != nil {
			o.wakes = append(o.wakes, wake)
		}
		return nil
	}
	o := &op{account: accountID, add: add, ctx: context.WithoutCancel(ctx), client: s.client, submitted: true, queued: time.Now(), done: make(chan struct{})}
	if wake != nil {
		o.wakes = []func(){wake}
	}
	if e.submitted == nil {
		e.submitted = map[string]*op{}
	}
	e.submitted[accountID] = o
	c.join(imageID, e, o)
	return nil
}

// fail keeps how an account's change failed; the caller holds the lock.
func (e *entry) fail(f *ChangeError) {
	if e.failed == nil {
		e.failed = map[string]*ChangeError{}
	}
	e.failed[f.Account] = f
}

// Modify removes and adds accounts in the image's next calls, which carry
// them with other callers' changes of the image, and waits for ECS's
// answer. An account must not be both added and removed. With one account,
// the error is ECS's; with several, it joins a *ChangeError for each account
// refused: a call refused for one account is made again account by
// account, so the others' changes are made.
func (s *Shares) Modify(ctx context.Context, imageID string, adds, removes []string) error {
	// Refused here, a malformed op cannot fail a call it would have joined.
	if imageID == "" || slices.Contains(adds, "") || slices.Contains(removes, "") {
		return errors.New(ecs.ActionModify + " needs an image id and non-empty account ids")
	}
	if len(adds)+len(removes) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s not called: %w", ecs.ActionModify, err)
	}
	c := s.c
	ops := make([]*op, 0, len(adds)+len(removes))
	c.mu.Lock()
	e := c.entry(key{s.scope, imageID}, c.now())
	// Removes first: a call applies them before its adds anyway.
	for _, change := range []struct {
		accounts []string
		add      bool
	}{{removes, false}, {adds, true}} {
		for _, a := range change.accounts {
			if o := lastWaiting(e.waiting, a); o != nil && o.add == change.add {
				// The same change still waits for its call, as when a
				// caller that gave up waiting makes it again: it waits for
				// that one rather than queue a second, which would split
				// calls (an account's changes go in calls of their own).
				ops = append(ops, o)
				continue
			}
			o := &op{account: a, add: change.add, ctx: context.WithoutCancel(ctx), client: s.client, done: make(chan struct{})}
			ops = append(ops, o)
			c.join(imageID, e, o)
		}
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
			errs[i] = &ChangeError{Account: ops[i].account, Add: ops[i].add, Err: err, told: true}
		}
	}
	return errors.Join(errs...)
}

// lastWaiting is the account's last op not yet taken into a call, or nil.
func lastWaiting(waiting []*op, account string) *op {
	for i := len(waiting) - 1; i >= 0; i-- {
		if waiting[i].account == account {
			return waiting[i]
		}
	}
	return nil
}

// join queues o on the image; the caller holds the lock. A full call starts
// the sender at once; otherwise the window starts, or starts again.
func (c *Coalescer) join(image string, e *entry, o *op) {
	e.waiting = append(e.waiting, o)
	switch {
	case e.sending:
		// The sender looks at the queue when its call returns.
	case full(e.waiting):
		c.startSending(image, e)
	default:
		c.arm(image, e)
	}
}

// arm sets the timer that starts the sender a Window from now.
func (c *Coalescer) arm(image string, e *entry) {
	d := c.window
	if e.timer != nil {
		// A timer that has fired meanwhile starts the sender anyway; the
		// reset one then finds it running, or nothing waiting.
		e.timer.Reset(d)
		return
	}
	e.timer = time.AfterFunc(d, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.flush(image, e)
	})
}

// flush has the sender take the head of the queue now, full call or not,
// unless the head may wait for more (holds).
func (c *Coalescer) flush(image string, e *entry) {
	if len(e.waiting) == 0 {
		return
	}
	if c.holds(e) {
		c.arm(image, e)
		return
	}
	e.due = true
	if !e.sending {
		c.startSending(image, e)
	}
}

// holds reports whether the head of the queue, a Window after its last
// write, waits another Window for more: while calls have lately waited for
// turns under the pacer (ECS's limit binds), a short call would only take a turn
// that a fuller call of another image could have had, and the head's
// shares would wait for a turn anyway. Writes that come as a backlog, when
// the objects exist before the provider starts, reach an image a few a
// second; without the hold they went in calls of five or six. Only
// Submit's writes wait: those of a Modify are all there. The oldest waits
// at most 2*ecs.MaxAccountsPerCall-1 Windows, the most a stream could hold
// it.
func (c *Coalescer) holds(e *entry) bool {
	n, full := head(e.waiting)
	if full || c.window <= 0 {
		return false
	}
	for _, o := range e.waiting[:n] {
		if !o.submitted {
			return false
		}
	}
	// Arrival order: the first is the oldest.
	return time.Since(e.waiting[0].queued) < time.Duration(2*ecs.MaxAccountsPerCall-1)*c.window &&
		e.waiting[0].client.Saturated(ecs.ActionModify)
}

func (c *Coalescer) startSending(image string, e *entry) {
	if e.timer != nil {
		e.timer.Stop()
		e.timer = nil
	}
	e.sending = true
	go c.send(image, e)
}

// head is how many ops at the head of waiting one call carries, and
// whether that call is full: it holds ecs.MaxAccountsPerCall adds or
// removes, or the next op is on an account it holds. ECS applies a call's
// removes before its adds whatever their order, so an account's ops must
// go in calls of their own, in order.
func head(waiting []*op) (n int, full bool) {
	var adds, removes int
	for i, o := range waiting {
		if slices.ContainsFunc(waiting[:i], func(p *op) bool { return p.account == o.account }) {
			return i, true
		}
		if o.add {
			adds++
		} else {
			removes++
		}
		if adds == ecs.MaxAccountsPerCall || removes == ecs.MaxAccountsPerCall {
			return i + 1, true
		}
	}
	return len(waiting), false
}

func full(waiting []*op) bool {
	_, f := head(waiting)
	return f
}

// send makes the image's calls, one at a time, while the head of the queue
// fills a call or is due; otherwise it sets the window for what is left.
func (c *Coalescer) send(image string, e *entry) {
	for {
		c.mu.Lock()
		n, isFull := head(e.waiting)
		if n == 0 || (!isFull && !e.due) {
			e.sending, e.due, e.used = false, false, c.now()
			if n > 0 {
				c.arm(image, e)
			}
			c.mu.Unlock()
			return
		}
		// Only the sender takes from waiting, so its head stays: the call
		// takes it, with what has joined behind it, when its turn comes.
		first := e.waiting[0]
		e.due = false
		c.mu.Unlock()

		ops, err := c.call(first.ctx, e, first.client, image, func() []*op {
			c.mu.Lock()
			defer c.mu.Unlock()
			n, _ := head(e.waiting)
			ops := slices.Clone(e.waiting[:n])
			clear(e.waiting[:n])
			e.waiting = e.waiting[n:]
			return ops
		})
		if err != nil && len(ops) > 1 && ecs.IsAccountError(err) {
			// ECS does not say which account failed the call: one call per
			// account, in arrival order, shares the good ones and tells
			// each caller its own cause.
			errs := make([]error, len(ops))
			for i, o := range ops {
				_, errs[i] = c.call(o.ctx, e, o.client, image, func() []*op { return []*op{o} })
			}
			c.finish(e, ops, errs...)
			continue
		}
		c.finish(e, ops, err)
	}
}

// finish gives each op its outcome: errs holds one error for all, or one
// per op. A submitted op's failure is kept for FindShare, and its wakes are
// called.
func (c *Coalescer) finish(e *entry, ops []*op, errs ...error) {
	var wakes []func()
	c.mu.Lock()
	for i, o := range ops {
		o.err = errs[min(i, len(errs)-1)]
		if !o.submitted {
			continue
		}
		if e.submitted[o.account] == o {
			delete(e.submitted, o.account)
			if o.err != nil {
				e.fail(&ChangeError{Account: o.account, Add: o.add, Err: o.err})
			}
		}
		wakes = append(wakes, o.wakes...)
	}
	c.mu.Unlock()
	for _, o := range ops {
		close(o.done)
	}
	for _, wake := range wakes {
		wake()
	}
}

// call makes one ModifyImageSharePermission call of the ops next takes,
// which it asks for once the call's turn under the pacer has come, and
// brings the image's listing, and any read in flight, up to date with its
// outcome. A call that could not be made (no turn before its timeout, no
// credentials) takes its ops all the same, and they fail with its error:
// what keeps it from being made would keep the next from it too.
func (c *Coalescer) call(ctx context.Context, e *entry, client ecs.Client, image string, next func() []*op) ([]*op, error) {
	var ops []*op
	ctx, cancel := context.WithTimeout(ctx, c.callTimeout)
	defer cancel()
	err := client.ModifyNext(ctx, image, func() (adds, removes []string) {
		ops = next()
		c.metrics.Batch(len(ops))
		for _, o := range ops {
			if o.add {
				adds = append(adds, o.account)
			} else {
				removes = append(removes, o.account)
			}
		}
		return adds, removes
	})
	if ops == nil {
		ops = next()
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		if !ecs.IsThrottled(err) {
			// Whether any of it applied is unknown: a call can fail after
			// ECS carried it out; a refusal may say the image is gone. A
			// throttle applied nothing and says nothing of the image: the
			// listing stays as true as it was, and the many resources of a
			// busy account are not sent back to read it again.
			e.listing = nil
			if e.read != nil {
				e.read.spoiled = true
			}
		}
		return ops, err
	}
	if e.listing != nil {
		apply(e.listing, image, ops)
	}
	if e.read != nil {
		e.read.writes = append(e.read.writes, ops...)
	}
	return ops, nil
}
