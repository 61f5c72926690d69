package clientcache

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestCache(t *testing.T) {
	type get struct {
		key      string
		after    time.Duration // the clock moves this far before the Get
		buildErr error
	}
	cases := map[string]struct {
		reason     string
		gets       []get
		wantBuilds []string
	}{
		"BuiltOncePerKey": {
			reason:     "reconciles of one configuration reuse its client",
			gets:       []get{{key: "a"}, {key: "a"}, {key: "b"}, {key: "a"}, {key: "b"}},
			wantBuilds: []string{"a", "b"},
		},
		"ErrorsAreNotKept": {
			reason:     "a configuration that failed to build is built again next time",
			gets:       []get{{key: "a", buildErr: errors.New("bad")}, {key: "a"}, {key: "a"}},
			wantBuilds: []string{"a", "a"},
		},
		"IdleEntriesAreDropped": {
			reason:     "a configuration unused for the idle period is built anew; one in use is kept",
			gets:       []get{{key: "a"}, {key: "b"}, {key: "b", after: 40 * time.Minute}, {key: "b", after: 40 * time.Minute}, {key: "a"}, {key: "b"}},
			wantBuilds: []string{"a", "b", "a"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c := New[string](time.Hour)
			now := time.Unix(1_800_000_000, 0)
			c.now = func() time.Time { return now }
			var builds []string
			for _, g := range tc.gets {
				now = now.Add(g.after)
				got, err := c.Get(g.key, func() (string, error) {
					builds = append(builds, g.key)
					return "client " + g.key, g.buildErr
				})
				if !errors.Is(err, g.buildErr) {
					t.Fatalf("Get(%s) error = %v, want %v", g.key, err, g.buildErr)
				}
				if err == nil && got != "client "+g.key {
					t.Errorf("Get(%s) = %q, want that key's value", g.key, got)
				}
			}
			if diff := cmp.Diff(tc.wantBuilds, builds); diff != "" {
				t.Errorf("%s\nbuilds: -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}
