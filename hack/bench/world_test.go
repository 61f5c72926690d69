package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMissingFlags(t *testing.T) {
	// As kingpin prints them.
	const help = `Flags:
  -d, --[no-]debug             Run with debug logging. ($PROVIDER_DEBUG)
      --poll=1m                How often individual resources will be
      --[no-]coalesce-ecs-calls  Let the resources of one image share one ECS
      --batch-window=100ms       How long a share waits for others of its
`
	cases := map[string]struct {
		reason string
		args   []string
		want   []string
	}{
		"ValueFlags": {
			reason: "A flag listed as --name=default is known, whatever value is asked.",
			args:   []string{"--poll=10s", "--batch-window=0s"},
		},
		"BoolOff": {
			reason: "--no-name switches off a bool listed as --[no-]name.",
			args:   []string{"--no-coalesce-ecs-calls"},
		},
		"BoolOn": {
			reason: "--name switches on a bool listed as --[no-]name.",
			args:   []string{"--coalesce-ecs-calls"},
		},
		"Unknown": {
			reason: "A flag the binary does not list is missing, even when another flag's name starts with it.",
			args:   []string{"--listing-freshness=1s", "--batch", "--no-poll"},
			want:   []string{"--listing-freshness", "--batch", "--no-poll"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := (&world{help: help}).missingFlags(tc.args)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\nmissingFlags(%v): -want, +got:\n%s", tc.reason, tc.args, diff)
			}
		})
	}
}
