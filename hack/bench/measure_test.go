package main

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim"
)

func TestRateBound(t *testing.T) {
	ecsLike := settings{describeRate: 20, modifyRate: 10}.rates()
	cases := map[string]struct {
		reason           string
		images, accounts int
		rates            map[string]ecssim.Rate
		want             time.Duration
	}{
		"Issue": {
			reason: "1,000 on 20 images: 100 Modify calls, 10 in the burst, 90 at 10/s.",
			images: 20, accounts: 50, rates: ecsLike, want: 9 * time.Second,
		},
		"WithinBurst": {
			reason: "2 images × 50 need 10 Modify calls, all in the burst.",
			images: 2, accounts: 50, rates: ecsLike, want: 0,
		},
		"DescribeBound": {
			reason: "Many images with one account each: Describe pages, not Modify calls, set the bound.",
			images: 100, accounts: 1, rates: map[string]ecssim.Rate{describeCall: {PerSecond: 5, Burst: 5}, modifyCall: {PerSecond: 10, Burst: 10}},
			want: 19 * time.Second,
		},
		"PagesAndBatches": {
			reason: "250 accounts take 3 Describe pages and 25 Modify calls per image.",
			images: 2, accounts: 250, rates: map[string]ecssim.Rate{describeCall: {PerSecond: 1, Burst: 1}, modifyCall: {PerSecond: 10, Burst: 10}},
			want: 5 * time.Second,
		},
		"Unlimited": {
			reason: "Without rate limits there is no bound.",
			images: 20, accounts: 50, want: 0,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := rateBound(minCalls(tc.images, tc.accounts), tc.rates)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\nrateBound(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestParseStat(t *testing.T) {
	cases := map[string]struct {
		reason  string
		stat    string
		ticks   int64
		want    time.Duration
		wantErr bool
	}{
		"Provider": {
			reason: "utime and stime are the 14th and 15th fields.",
			stat:   "4242 (provider) S 1 4242 4242 0 -1 4194560 5000 0 0 0 250 130 0 0 20 0 12 0 100 1000000 3000",
			ticks:  100, want: 3800 * time.Millisecond,
		},
		"NameWithSpacesAndParentheses": {
			reason: "Fields count from the command name's last parenthesis.",
			stat:   "7 (a b) (c)) R 1 7 7 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 100 0 0",
			ticks:  100, want: 30 * time.Millisecond,
		},
		"OtherTickRate": {
			reason: "Ticks are USER_HZ, whatever it is.",
			stat:   "9 (x) S 1 9 9 0 -1 0 0 0 0 0 500 500 0 0 20 0 1 0 100 0 0",
			ticks:  1000, want: time.Second,
		},
		"Truncated": {
			reason: "A line without utime and stime is an error, not zero CPU.",
			stat:   "9 (x) S 1 9 9", ticks: 100, wantErr: true,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := parseStat(tc.stat, tc.ticks)
			if (err != nil) != tc.wantErr {
				t.Fatalf("%s\nparseStat(...): error %v, want error %v", tc.reason, err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\nparseStat(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestParseStatus(t *testing.T) {
	cases := map[string]struct {
		reason  string
		status  string
		want    uint64
		wantErr bool
	}{
		"Peak": {
			reason: "VmHWM is the peak, in kB; VmRSS, the current size, is not it.",
			status: "Name:\tprovider\nVmPeak:\t 1300000 kB\nVmHWM:\t   61440 kB\nVmRSS:\t   50000 kB\n",
			want:   60 << 20,
		},
		"Missing": {
			reason: "A status without VmHWM (a zombie) is an error.",
			status: "Name:\tprovider\nState:\tZ (zombie)\n", wantErr: true,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := parseStatus(tc.status)
			if (err != nil) != tc.wantErr {
				t.Fatalf("%s\nparseStatus(...): error %v, want error %v", tc.reason, err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\nparseStatus(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}
