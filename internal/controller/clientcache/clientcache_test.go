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
		max        int
		gets       []get
		wantBuilds []string
		wantDrops  []string
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
			wantDrops:  []string{"client a"},
		},
		"BoundedByLeastRecentlyUsed": {
			reason:     "past the bound the least recently used entry is dropped, and freed",
			max:        2,
			gets:       []get{{key: "a"}, {key: "b", after: time.Second}, {key: "a", after: time.Second}, {key: "c", after: time.Second}, {key: "a", after: time.Second}, {key: "b", after: time.Second}},
			wantBuilds: []string{"a", "b", "c", "b"},
			wantDrops:  []string{"client b", "client c"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var drops []string
			c := New(time.Hour, func(v string) { drops = append(drops, v) })
			if tc.max > 0 {
				c.max = tc.max
			}
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
			if diff := cmp.Diff(tc.wantDrops, drops); diff != "" {
				t.Errorf("%s\ndropped: -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}
