package ecssim_test

import (
	"fmt"
	"maps"
	"strings"
	"testing"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	ecs "github.com/alibabacloud-go/ecs-20140526/v4/client"
	"github.com/alibabacloud-go/tea/tea"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim/simtest"
)

// TestCallsBy attributes calls to the key that signed them, the image they
// named, the accounts a write carried and the User-Agent the SDK sent,
// through Go and the control API.
func TestCallsBy(t *testing.T) {
	sim, srv := simtest.Serve(t, testConfig())
	withAgent := func(keyID, secret, agent string) *ecs.Client {
		c, err := ecs.NewClient(&openapi.Config{
			AccessKeyId: tea.String(keyID), AccessKeySecret: tea.String(secret),
			Endpoint: tea.String(hostPort(srv)), Protocol: tea.String("http"), RegionId: tea.String(region),
			UserAgent: tea.String(agent), ReadTimeout: tea.Int(5000), ConnectTimeout: tea.Int(2000),
		})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	a := withAgent(ownerKey, ownerSec, "tester/1 (pid 101)")
	b := withAgent(otherKey, otherSec, "tester/1 (pid 202)")
	wrong := withAgent(otherKey, "not-the-secret", "tester/1 (pid 202)")
	for range 3 {
		if _, err := describe(a, imageID, 0, 0); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := describe(b, foreignID, 0, 0); err != nil {
		t.Fatal(err)
	}
	if got := code(t, modify(wrong, foreignID, []string{friend}, nil)); got != ecssim.CodeSignatureMismatch {
		t.Fatalf("wrong secret: %q", got)
	}
	if err := modify(a, imageID, []string{stranger}, []string{friend}); err != nil {
		t.Fatal(err)
	}

	byPID := map[string]uint64{}
	for agent, n := range sim.CallsByUserAgent() {
		for _, pid := range []string{"pid 101", "pid 202"} {
			if strings.Contains(agent, pid) {
				byPID[pid] += n
			}
		}
	}
	if want := map[string]uint64{"pid 101": 4, "pid 202": 2}; !maps.Equal(byPID, want) {
		t.Errorf("calls by User-Agent pid %v, want %v (all agents: %v)", byPID, want, sim.CallsByUserAgent())
	}
	modifyByKey := sim.CallsBy(func(c ecssim.Call) string { return c.AccessKeyID + " " + c.Outcome },
		func(c ecssim.Call) bool { return c.Action == "ModifyImageSharePermission" })
	if want := map[string]uint64{otherKey + " " + ecssim.CodeSignatureMismatch: 1, ownerKey + " Success": 1}; !maps.Equal(modifyByKey, want) {
		t.Errorf("Modify calls by key %v, want %v: a call that fails its signature still names its key", modifyByKey, want)
	}
	byAccounts := sim.CallsBy(func(c ecssim.Call) string { return fmt.Sprintf("%s %d", c.Action, c.Accounts) }, nil)
	if want := map[string]uint64{"DescribeImageSharePermission 0": 4, "ModifyImageSharePermission 1": 1, "ModifyImageSharePermission 2": 1}; !maps.Equal(byAccounts, want) {
		t.Errorf("calls by accounts carried %v, want %v", byAccounts, want)
	}

	var byImage map[string]uint64
	if code := control(t, srv.URL, "GET", "calls?by=image", "", &byImage); code != 200 {
		t.Fatalf("GET calls?by=image: %d", code)
	}
	if want := map[string]uint64{region + "/" + imageID: 4, region + "/" + foreignID: 2}; !maps.Equal(byImage, want) {
		t.Errorf("calls by image %v, want %v", byImage, want)
	}
	var byAccountsCarried map[string]uint64
	if code := control(t, srv.URL, "GET", "calls?by=accounts", "", &byAccountsCarried); code != 200 {
		t.Fatalf("GET calls?by=accounts: %d", code)
	}
	if want := map[string]uint64{"0": 4, "1": 1, "2": 1}; !maps.Equal(byAccountsCarried, want) {
		t.Errorf("calls by accounts carried, through the control API: %v, want %v", byAccountsCarried, want)
	}
	if code := control(t, srv.URL, "GET", "calls?by=colour", "", nil); code != 400 {
		t.Errorf("GET calls?by=colour: %d, want 400", code)
	}

	sim.ResetCounters()
	if got := sim.CallsByUserAgent(); len(got) != 0 {
		t.Errorf("after ResetCounters: %v", got)
	}
}
