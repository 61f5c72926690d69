package ecsclients

import (
	"errors"
	"fmt"
	"testing"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/ecs"
)

func TestAnyThrottled(t *testing.T) {
	throttled := &ecs.Error{Action: ecs.ActionModify, Code: "Throttling.User"}
	refused := &ecs.Error{Action: ecs.ActionModify, Code: ecs.CodeQuotaShareImageUser}
	cases := []struct {
		reason string
		err    error
		want   bool
	}{
		{reason: "No error is not a throttle.", err: nil, want: false},
		{reason: "A refusal is not a throttle.", err: refused, want: false},
		{reason: "A wrapped throttle is one.", err: fmt.Errorf("image m-1: %w", throttled), want: true},
		{reason: "A throttle after a refusal in a join counts: ecs.IsThrottled sees only the first.", err: errors.Join(refused, fmt.Errorf("x: %w", throttled)), want: true},
	}
	for _, tc := range cases {
		if got := anyThrottled(tc.err); got != tc.want {
			t.Errorf("%s\nanyThrottled(%v) = %t, want %t", tc.reason, tc.err, got, tc.want)
		}
	}
}
