package ecsclients

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestBounded(t *testing.T) {
	sentinel := errors.New("the cause")
	long := fmt.Errorf("%w: %s", sentinel, strings.Repeat("x", 64<<10))
	cases := []struct {
		reason  string
		err     error
		wantLen int
	}{
		{reason: "no error stays none", err: nil, wantLen: 0},
		{reason: "a short error is kept as it is", err: sentinel, wantLen: len(sentinel.Error())},
		{reason: "a long error is cut to the bound, and says so", err: long, wantLen: MaxMessage + len("…(cut)")},
	}
	for _, tc := range cases {
		got := Bounded(tc.err)
		n := 0
		if got != nil {
			n = len(got.Error())
		}
		if n != tc.wantLen {
			t.Errorf("%s\nlength %d, want %d", tc.reason, n, tc.wantLen)
		}
		if tc.err != nil && !errors.Is(got, sentinel) {
			t.Errorf("%s\nthe bounded error no longer wraps its cause", tc.reason)
		}
	}
}
