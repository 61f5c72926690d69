package config

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Secrets the configurations name are read again after secretsFresh, so a
// rotated or deleted Secret takes effect within that long; meanwhile every
// resource of a configuration resolves from one read. At most maxSecrets
// are kept: only Secrets that configurations name are ever read, and a
// tenant who names new ones again and again only shortens their stay.
const (
	secretsFresh = 10 * time.Second
	maxSecrets   = 1024
)

// secretReader keeps reads of Secrets for a little while, per
// configuration. The manager's client reads Secrets uncached, since its
// cache would hold every Secret in the cluster; this holds only those the
// configurations name, so that 1,000 resources of one configuration cost
// one read of its Secret a few times a minute, not one per reconcile.
//
// What is read is kept for the configuration (by its UID) that read it:
// a namespace and configuration deleted and re-created under the same
// names, with a Secret of the same name, never see the Secret read before.
type secretReader struct {
	kube client.Client
	now  func() time.Time

	mu     sync.Mutex
	read   map[secretKey]readSecret
	flight singleflight.Group
}

type secretKey struct {
	owner  types.UID
	secret types.NamespacedName
}

type readSecret struct {
	secret *corev1.Secret
	at     time.Time
}

func newSecretReader(kube client.Client) *secretReader {
	return &secretReader{kube: kube, now: time.Now, read: map[secretKey]readSecret{}}
}

// For is kube as the configuration of UID owner reads through it: its
// Secrets from what it read within secretsFresh, everything else as kube
// reads it.
func (s *secretReader) For(owner types.UID) client.Client {
	return ownedReader{Client: s.kube, s: s, owner: owner}
}

type ownedReader struct {
	client.Client
	s     *secretReader
	owner types.UID
}

func (o ownedReader) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	secret, ok := obj.(*corev1.Secret)
	if !ok || len(opts) > 0 {
		return o.Client.Get(ctx, key, obj, opts...)
	}
	return o.s.get(ctx, secretKey{owner: o.owner, secret: key}, secret)
}

func (s *secretReader) get(ctx context.Context, key secretKey, secret *corev1.Secret) error {
	now := s.now()
	s.mu.Lock()
	r, hit := s.read[key]
	s.mu.Unlock()
	if hit && now.Sub(r.at) < secretsFresh {
		r.secret.DeepCopyInto(secret)
		return nil
	}
	// The resources of a configuration reconcile together: one of them
	// reads, the others wait for its read rather than each asking the API
	// server at once.
	v, err, _ := s.flight.Do(fmt.Sprintf("%s/%s", key.owner, key.secret), func() (any, error) {
		fresh := &corev1.Secret{}
		if err := s.kube.Get(ctx, key.secret, fresh); err != nil {
			// A Secret that is gone, or may not be read, is not kept.
			s.mu.Lock()
			delete(s.read, key)
			s.mu.Unlock()
			return nil, err
		}
		s.keep(key, fresh, now)
		return fresh, nil
	})
	if err != nil {
		return err
	}
	if fresh, ok := v.(*corev1.Secret); ok {
		fresh.DeepCopyInto(secret)
	}
	return nil
}

// keep records what was read, within maxSecrets.
func (s *secretReader) keep(key secretKey, secret *corev1.Secret, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.read) >= maxSecrets {
		for k, r := range s.read {
			if now.Sub(r.at) >= secretsFresh {
				delete(s.read, k)
			}
		}
		if len(s.read) >= maxSecrets {
			clear(s.read)
		}
	}
	s.read[key] = readSecret{secret: secret, at: now}
}
