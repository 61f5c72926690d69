// Package clientcache keeps what a reconcile builds from a resolved
// provider configuration, the ECS client and its shared views, for the
// next reconciles of the same configuration. crossplane-runtime connects on
// every reconcile; building a client each time costs allocations and CPU
// that 1,000 resources multiply, and would give the pacer and the shared
// reads no stable client to hang on.
//
// Entries are keyed by what they were built from, so a changed
// ProviderConfig or Secret is simply a new key; entries unused for a while
// are dropped, so memory stays bounded as configurations come and go.
package clientcache

import (
	"sync"
	"time"
)

// Cache maps keys to values built once per key.
type Cache[T any] struct {
	mu        sync.Mutex
	entries   map[string]*entry[T]
	idleAfter time.Duration
	lastSweep time.Time
	now       func() time.Time
}

type entry[T any] struct {
	v    T
	used time.Time
}

// New returns a Cache that drops entries unused for idleAfter.
func New[T any](idleAfter time.Duration) *Cache[T] {
	return &Cache[T]{entries: map[string]*entry[T]{}, idleAfter: idleAfter, now: time.Now}
}

// Get returns the value for key, building it if there is none. A build
// error is returned and not kept. Builds run under the cache's lock: they
// are cheap and make no calls, and one build per key is the point.
func (c *Cache[T]) Get(key string, build func() (T, error)) (T, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	c.sweep(now)
	if e, ok := c.entries[key]; ok {
		e.used = now
		return e.v, nil
	}
	v, err := build()
	if err != nil {
		return v, err
	}
	c.entries[key] = &entry[T]{v: v, used: now}
	return v, nil
}

// sweep drops idle entries, at most twice per idle period.
func (c *Cache[T]) sweep(now time.Time) {
	if now.Sub(c.lastSweep) < c.idleAfter/2 {
		return
	}
	c.lastSweep = now
	for k, e := range c.entries {
		if now.Sub(e.used) >= c.idleAfter {
			delete(c.entries, k)
		}
	}
}
