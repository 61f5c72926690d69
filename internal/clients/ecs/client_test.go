package ecs_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/credentials"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/ecs"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim/simtest"
)

// withShares puts accounts on imageID, with room for all of them.
func withShares(accounts []string) func(*ecssim.Config) {
	return func(cfg *ecssim.Config) {
		cfg.AcceptAnyAccount = true
		cfg.Images[0].SharedWith = accounts
		cfg.Images[0].MaxShares = len(accounts)
	}
}

func TestFindShare(t *testing.T) {
	many := accountIDs(160)
	cases := []struct {
		name      string
		edit      func(*ecssim.Config)
		creds     *credentials.Credentials // default ownerCreds
		image     string
		account   string
		wantFound bool
		wantCalls uint64
	}{
		{name: "found on page 1", image: imageID, account: friend, wantFound: true, wantCalls: 1},
		{name: "found with STS credentials", creds: &stsCreds, image: imageID, account: friend, wantFound: true, wantCalls: 1},
		{name: "found on page 2 at position 150 of 160", edit: withShares(many), image: imageID, account: many[149], wantFound: true, wantCalls: 2},
		{name: "absent", image: imageID, account: stranger, wantCalls: 1},
		{name: "absent among 160 reads both pages", edit: withShares(many), image: imageID, account: stranger, wantCalls: 2},
		// A full last page ends the list by TotalCount, without asking for an empty page.
		{name: "absent among exactly 200", edit: withShares(accountIDs(200)), image: imageID, account: stranger, wantCalls: 2},
		{name: "image shared with no one", image: deprecatedID, account: friend, wantCalls: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			if tc.edit != nil {
				tc.edit(&cfg)
			}
			// The simulator stamps its shares when it starts, and ECS
			// answers whole seconds: the earliest right answer is the
			// second in which the simulator started, however long the
			// setup below takes on a busy machine.
			before := time.Now().Truncate(time.Second)
			sim, srv := simtest.Serve(t, cfg)
			creds := ownerCreds
			if tc.creds != nil {
				creds = *tc.creds
			}
			c := newClient(t, srv.URL, creds)
			got, err := find(c, tc.image, tc.account)
			if err != nil {
				t.Fatalf("FindShare: %v", err)
			}
			if calls := sim.Calls("DescribeImageSharePermission"); calls != tc.wantCalls {
				t.Errorf("DescribeImageSharePermission called %d times, want %d", calls, tc.wantCalls)
			}
			if !tc.wantFound {
				if got != nil {
					t.Fatalf("FindShare = %+v, want nil", got)
				}
				return
			}
			if got == nil {
				t.Fatal("FindShare = nil, want the share")
			}
			if got.ImageID != tc.image || got.AccountID != tc.account || got.Region != region {
				t.Errorf("FindShare = %+v, want image %s, account %s, region %s", got, tc.image, tc.account, region)
			}
			if got.SharedTime.Location() != time.UTC || got.SharedTime.Before(before) || got.SharedTime.After(time.Now()) {
				t.Errorf("SharedTime = %v, want a UTC time between %v and now", got.SharedTime, before)
			}
		})
	}
}

func TestAddAndRemove(t *testing.T) {
	sim, srv := simtest.Serve(t, testConfig())
	c := newClient(t, srv.URL, ownerCreds)
	ctx := context.Background()
	steps := []struct {
		name      string
		act       func() error
		wantShare bool
		wantTrue  []string
	}{
		{name: "not shared at first", wantTrue: []string{friend}},
		{name: "add", act: func() error { return c.AddAccounts(ctx, imageID, stranger) }, wantShare: true, wantTrue: []string{friend, stranger}},
		{name: "add again is harmless", act: func() error { return c.AddAccounts(ctx, imageID, stranger) }, wantShare: true, wantTrue: []string{friend, stranger}},
		{name: "remove", act: func() error { return c.RemoveAccounts(ctx, imageID, stranger) }, wantTrue: []string{friend}},
		{name: "remove again is harmless", act: func() error { return c.RemoveAccounts(ctx, imageID, stranger) }, wantTrue: []string{friend}},
	}
	for _, st := range steps {
		if st.act != nil {
			if err := st.act(); err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
		}
		got, err := find(c, imageID, stranger)
		if err != nil {
			t.Fatalf("%s: FindShare: %v", st.name, err)
		}
		if (got != nil) != st.wantShare {
			t.Fatalf("%s: FindShare = %+v, want shared=%v", st.name, got, st.wantShare)
		}
		if truth, _ := sim.SharedWith(region, imageID); !slices.Equal(truth, st.wantTrue) {
			t.Fatalf("%s: the simulator shares with %v, want %v", st.name, truth, st.wantTrue)
		}
	}
}

// TestModifyChunks checks that more than 10 accounts take several calls,
// since ECS silently ignores entries past the 10th.
func TestModifyChunks(t *testing.T) {
	accounts := accountIDs(23)
	cfg := testConfig()
	withShares([]string{friend})(&cfg)
	cfg.Images[0].MaxShares = 30
	sim, srv := simtest.Serve(t, cfg)
	c := newClient(t, srv.URL, ownerCreds)
	ctx := context.Background()
	steps := []struct {
		name      string
		act       func() error
		wantCalls uint64
		wantTrue  []string
	}{
		{name: "no accounts, no call", act: func() error { return c.AddAccounts(ctx, imageID) }, wantTrue: []string{friend}},
		{name: "add 23", act: func() error { return c.AddAccounts(ctx, imageID, accounts...) }, wantCalls: 3, wantTrue: append([]string{friend}, accounts...)},
		{name: "remove 23", act: func() error { return c.RemoveAccounts(ctx, imageID, accounts...) }, wantCalls: 6, wantTrue: []string{friend}},
	}
	for _, st := range steps {
		if err := st.act(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if calls := sim.Calls("ModifyImageSharePermission"); calls != st.wantCalls {
			t.Errorf("%s: ModifyImageSharePermission called %d times in all, want %d", st.name, calls, st.wantCalls)
		}
		if truth, _ := sim.SharedWith(region, imageID); !slices.Equal(truth, st.wantTrue) {
			t.Errorf("%s: the simulator shares with %d accounts %v, want %d", st.name, len(truth), truth, len(st.wantTrue))
		}
	}
}

// TestMissingArguments checks that empty ids are refused before any call:
// ECS would read an empty account list as nothing to do.
func TestMissingArguments(t *testing.T) {
	sim, srv := simtest.Serve(t, testConfig())
	c := newClient(t, srv.URL, ownerCreds)
	ctx := context.Background()
	calls := map[string]func() error{
		"FindShare without image":      func() error { _, err := c.FindShare(ctx, "", friend); return err },
		"FindShare without account":    func() error { _, err := c.FindShare(ctx, imageID, ""); return err },
		"AddAccounts without image":    func() error { return c.AddAccounts(ctx, "", friend) },
		"AddAccounts with empty id":    func() error { return c.AddAccounts(ctx, imageID, friend, "") },
		"RemoveAccounts without image": func() error { return c.RemoveAccounts(ctx, "", friend) },
	}
	for name, call := range calls {
		if err := call(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if n := len(sim.Counters()); n != 0 {
		t.Errorf("calls reached ECS: %v", sim.Counters())
	}
}

// TestConcurrentCalls makes calls in parallel through one Client and
// through a second Client with the same endpoint and timeouts, which would
// share SDK clients and tea's pooled http.Client without call slots; -race
// sees any call that does.
func TestConcurrentCalls(t *testing.T) {
	accounts := accountIDs(6)
	cfg := testConfig()
	withShares([]string{friend})(&cfg)
	cfg.Images[0].MaxShares = 10
	sim, srv := simtest.Serve(t, cfg)
	clients := []ecs.Client{newClient(t, srv.URL, ownerCreds), newClient(t, srv.URL, ownerCreds)}
	var wg sync.WaitGroup
	for i, account := range accounts {
		c := clients[i%len(clients)]
		wg.Go(func() {
			if err := c.AddAccounts(context.Background(), imageID, account); err != nil {
				t.Errorf("AddAccounts(%s): %v", account, err)
				return
			}
			if got, err := find(c, imageID, account); err != nil || got == nil {
				t.Errorf("FindShare(%s) = %v, %v; want the share", account, got, err)
			}
		})
	}
	wg.Wait()
	truth, _ := sim.SharedWith(region, imageID)
	slices.Sort(truth)
	if want := append(slices.Clone(accounts), friend); !slices.Equal(truth, slices.Sorted(slices.Values(want))) {
		t.Errorf("the simulator shares with %v, want %v", truth, want)
	}
}

// TestFindShareToleratesSparseAnswers feeds FindShare answers with fields
// missing or malformed, as a future ECS might send.
func TestFindShareToleratesSparseAnswers(t *testing.T) {
	cases := []struct {
		name      string
		body      string
		wantFound bool
	}{
		{name: "no fields at all", body: `{}`},
		{name: "no Accounts", body: `{"RequestId":"x","TotalCount":0}`},
		{name: "null Account entries", body: `{"Accounts":{"Account":[null,{}]}}`},
		{name: "no SharedTime nor TotalCount", body: `{"Accounts":{"Account":[{"AliyunId":"` + friend + `"}]}}`, wantFound: true},
		{name: "SharedTime in another format", body: `{"Accounts":{"Account":[{"AliyunId":"` + friend + `","SharedTime":"yesterday"}]}}`, wantFound: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := cannedECS(t, 200, "application/json;charset=utf-8", tc.body)
			got, err := find(newClient(t, srv.URL, ownerCreds), imageID, friend)
			if err != nil {
				t.Fatalf("FindShare: %v", err)
			}
			if (got != nil) != tc.wantFound {
				t.Fatalf("FindShare = %+v, want found=%v", got, tc.wantFound)
			}
			if got != nil && !got.SharedTime.IsZero() {
				t.Errorf("SharedTime = %v, want zero when ECS gives none that parses", got.SharedTime)
			}
		})
	}
}
