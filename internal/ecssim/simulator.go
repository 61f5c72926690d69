package ecssim

import (
	"cmp"
	"crypto/rsa"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// Simulator is an in-memory ECS. It is safe for concurrent use.
type Simulator struct {
	clock  func() time.Time
	logger *slog.Logger

	mu       sync.Mutex
	seed     Config // what Reset returns to
	accounts map[string]bool
	keys     map[string]credential
	images   map[imageKey]*image
	faults   *faultState
	nonces   nonceCache
	seq      uint64
	calls    callCounters

	roles     map[string]Role // by lower-case ARN
	providers map[string]*oidcProvider
	// oidcKeys outlive Reset and Load, as an identity provider's signing
	// key outlives changes to RAM: tokens minted before still verify.
	oidcKeys map[string]*rsa.PrivateKey
	sts      STSOptions
	metadata metadataState
}

type credential struct {
	account string
	key     AccessKey
	// session is set on the keys STS issued.
	session *session
}

type imageKey struct{ region, id string }

type image struct {
	Image
	shares map[string]*share
	// seq orders images put at the same CreationTime, as put.
	seq uint64
}

// share is one account's permission on an image. Describe calls see the
// state as it was VisibilityLag ago: visiblePrev is what they see until
// changedAt+lag.
type share struct {
	account     string
	sharedTime  time.Time
	seq         uint64
	present     bool
	visiblePrev bool
	changedAt   time.Time
}

func (s *share) visible(now time.Time, lag time.Duration) bool {
	if now.Before(s.changedAt.Add(lag)) {
		return s.visiblePrev
	}
	return s.present
}

// Option configures a Simulator.
type Option func(*Simulator)

// WithClock replaces the wall clock, for tests of time-dependent behaviour
// (rate limits, visibility lag, request expiry, STS expiry).
func WithClock(now func() time.Time) Option { return func(s *Simulator) { s.clock = now } }

// WithLogger sets where the one-line-per-call log goes; the default discards it.
func WithLogger(l *slog.Logger) Option { return func(s *Simulator) { s.logger = l } }

// New returns a simulator seeded with cfg.
func New(cfg Config, opts ...Option) (*Simulator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Simulator{
		clock:    time.Now,
		logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		oidcKeys: map[string]*rsa.PrivateKey{},
	}
	for _, o := range opts {
		o(s)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.addKeys(cfg); err != nil {
		return nil, err
	}
	s.load(cfg)
	return s, nil
}

// load replaces all state with cfg. The caller holds s.mu.
func (s *Simulator) load(cfg Config) {
	s.seed = cfg
	s.accounts = map[string]bool{}
	s.keys = map[string]credential{}
	s.images = map[imageKey]*image{}
	s.faults = newFaultState(cfg.Faults)
	s.nonces = nonceCache{}
	s.calls = callCounters{}
	for _, a := range cfg.Accounts {
		s.addAccount(a)
	}
	s.loadIdentities(cfg)
	now := s.clock()
	for _, im := range cfg.Images {
		s.putImage(im, now)
	}
}

func (s *Simulator) addAccount(a Account) {
	s.accounts[a.ID] = true
	for _, k := range a.AccessKeys {
		s.keys[k.ID] = credential{account: a.ID, key: k}
	}
}

func (s *Simulator) putImage(im Image, now time.Time) {
	if im.Status == "" {
		im.Status = StatusAvailable
	}
	if im.CreationTime.IsZero() {
		im.CreationTime = now
	}
	s.seq++
	stored := &image{Image: im, shares: map[string]*share{}, seq: s.seq}
	stored.SharedWith = nil
	s.images[imageKey{im.Region, im.ID}] = stored
	for _, a := range im.SharedWith {
		s.setShare(stored, a, true, now, true)
	}
}

// setShare adds or removes one share. Out-of-band changes (immediate) are
// visible at once; API changes become visible after the visibility lag.
// Adding a present share or removing an absent one changes nothing.
func (s *Simulator) setShare(im *image, account string, present bool, now time.Time, immediate bool) {
	sh := im.shares[account]
	if sh == nil {
		if !present {
			return
		}
		sh = &share{account: account}
		im.shares[account] = sh
	}
	if sh.present == present {
		return
	}
	sh.visiblePrev = sh.visible(now, s.faults.cfg.VisibilityLag.Duration)
	if immediate {
		sh.visiblePrev = present
	}
	sh.present = present
	sh.changedAt = now
	if present {
		s.seq++
		sh.seq = s.seq
		sh.sharedTime = now.UTC().Truncate(time.Second)
	}
}

func (im *image) presentShares() int {
	n := 0
	for _, sh := range im.shares {
		if sh.present {
			n++
		}
	}
	return n
}

// sharesWhere lists the shares that keep, oldest share first.
func (im *image) sharesWhere(keep func(*share) bool) []*share {
	var out []*share
	for _, sh := range im.shares {
		if keep(sh) {
			out = append(out, sh)
		}
	}
	slices.SortFunc(out, func(a, b *share) int { return cmp.Compare(a.seq, b.seq) })
	return out
}

// visibleShares lists the shares a Describe call sees now, and forgets
// removed shares nobody can see any more.
func (im *image) visibleShares(now time.Time, lag time.Duration) []*share {
	for a, sh := range im.shares {
		if !sh.present && !sh.visible(now, lag) {
			delete(im.shares, a)
		}
	}
	return im.sharesWhere(func(sh *share) bool { return sh.visible(now, lag) })
}

func (s *Simulator) maxShares(im *image) int {
	switch {
	case im.MaxShares > 0:
		return im.MaxShares
	case s.seed.Limits.MaxSharesPerImage > 0:
		return s.seed.Limits.MaxSharesPerImage
	}
	return DefaultMaxSharesPerImage
}

// Reset returns the simulator to the state it was created (or last Load-ed)
// with, and clears counters, nonces, rate-limit buckets, issued STS sessions
// and metadata tokens.
func (s *Simulator) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load(s.seed)
}

// Load replaces the whole state, and what Reset returns to, with cfg.
func (s *Simulator) Load(cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.addKeys(cfg); err != nil {
		return err
	}
	s.load(cfg)
	return nil
}

// AddAccount adds an account (and its keys) out of band.
func (s *Simulator) AddAccount(a Account) error {
	if !accountIDPattern.MatchString(a.ID) {
		return fmt.Errorf("account id %q must be a numeric Alibaba Cloud UID", a.ID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range a.AccessKeys {
		if err := k.validate(); err != nil {
			return err
		}
		if c, ok := s.keys[k.ID]; ok && c.account != a.ID {
			return fmt.Errorf("access key %q belongs to another account", k.ID)
		}
	}
	s.addAccount(a)
	return nil
}

// PutImage creates or replaces an image, with its shares, out of band.
func (s *Simulator) PutImage(im Image) error {
	if err := im.validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.accounts[im.Owner] {
		return fmt.Errorf("owner %q is not a known account", im.Owner)
	}
	s.putImage(im, s.clock())
	return nil
}

// DeleteImage removes an image and its shares out of band.
func (s *Simulator) DeleteImage(region, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := imageKey{region, id}
	if s.images[k] == nil {
		return fmt.Errorf("no image %s in %s", id, region)
	}
	delete(s.images, k)
	return nil
}

// SetImageStatus changes an image's status out of band (e.g. to Deprecated).
func (s *Simulator) SetImageStatus(region, id, status string) error {
	if err := validStatus(status); err != nil || status == "" {
		return fmt.Errorf("status %q is not one of %v", status, ImageStatuses)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	im := s.images[imageKey{region, id}]
	if im == nil {
		return fmt.Errorf("no image %s in %s", id, region)
	}
	im.Status = status
	return nil
}

// Share adds (present) or removes shares out of band, visible at once, as a
// person using the console would: this is how tests make drift.
func (s *Simulator) Share(region, id string, present bool, accounts ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	im := s.images[imageKey{region, id}]
	if im == nil {
		return fmt.Errorf("no image %s in %s", id, region)
	}
	now := s.clock()
	for _, a := range accounts {
		if !accountIDPattern.MatchString(a) {
			return fmt.Errorf("account %q is not a numeric UID", a)
		}
		s.setShare(im, a, present, now, true)
	}
	return nil
}

// SharedWith is the true (not lagged) list of accounts an image is shared
// with, oldest share first.
func (s *Simulator) SharedWith(region, id string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	im := s.images[imageKey{region, id}]
	if im == nil {
		return nil, fmt.Errorf("no image %s in %s", id, region)
	}
	var out []string
	for _, sh := range im.sharesWhere(func(sh *share) bool { return sh.present }) {
		out = append(out, sh.account)
	}
	return out, nil
}

// SetFaults replaces the fault settings; the generator is re-seeded and the
// rate-limit buckets start full.
func (s *Simulator) SetFaults(f Faults) error {
	if err := f.Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = newFaultState(f)
	return nil
}

// Faults returns the fault settings in force.
func (s *Simulator) Faults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults.cfg
}
