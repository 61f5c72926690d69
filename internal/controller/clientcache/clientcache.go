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

// MaxEntries bounds a cache: past it, the least recently used entry goes.
// Entries are keyed by exactly what they are built from, so a tenant who
// changes a Secret or a configuration again and again makes new entries;
// idle ones go after a while, and this bounds how many can live meanwhile.
const MaxEntries = 4096

// Cache maps keys to values built once per key.
type Cache[T any] struct {
	mu        sync.Mutex
	entries   map[string]*entry[T]
	idleAfter time.Duration
	lastSweep time.Time
	now       func() time.Time
	drop      func(T)
	max       int
}

type entry[T any] struct {
	v    T
	used time.Time
}

// New returns a Cache that drops entries unused for idleAfter, or the least
// recently used past MaxEntries. drop, if given, is called with each
// dropped value, to free what it holds (connections).
func New[T any](idleAfter time.Duration, drop ...func(T)) *Cache[T] {
	c := &Cache[T]{entries: map[string]*entry[T]{}, idleAfter: idleAfter, now: time.Now, max: MaxEntries}
	if len(drop) > 0 {
		c.drop = drop[0]
	}
	return c
}

// Len is how many entries the cache holds.
func (c *Cache[T]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
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
	if len(c.entries) >= c.max {
		c.dropOldest()
	}
	c.entries[key] = &entry[T]{v: v, used: now}
	return v, nil
}

// dropOldest drops the least recently used entry.
func (c *Cache[T]) dropOldest() {
	var oldest string
	var at time.Time
	for k, e := range c.entries {
		if oldest == "" || e.used.Before(at) {
			oldest, at = k, e.used
		}
	}
	c.remove(oldest)
}

func (c *Cache[T]) remove(key string) {
	e, ok := c.entries[key]
	if !ok {
		return
	}
	delete(c.entries, key)
	if c.drop != nil {
		c.drop(e.v)
	}
}

// sweep drops idle entries, at most twice per idle period.
func (c *Cache[T]) sweep(now time.Time) {
	if now.Sub(c.lastSweep) < c.idleAfter/2 {
		return
	}
	c.lastSweep = now
	for k, e := range c.entries {
		if now.Sub(e.used) >= c.idleAfter {
			c.remove(k)
		}
	}
}
