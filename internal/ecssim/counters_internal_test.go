package ecssim

import (
	"fmt"
	"strings"
	"testing"
)

// TestAttributionIsBounded checks that callers choosing ever new image ids
// or User-Agents cannot grow the counters without bound, and that no call
// goes uncounted meanwhile.
func TestAttributionIsBounded(t *testing.T) {
	c := callCounters{}
	const calls = maxAttributedCalls + 500
	for i := range calls {
		c.add(Call{Action: "DescribeImageSharePermission", Outcome: "Success",
			Image: fmt.Sprintf("m-%d", i), UserAgent: strings.Repeat("u", 10*maxAttributeLen)})
	}
	if n := len(c); n > maxAttributedCalls+1 {
		t.Errorf("%d distinct attributions remembered, want at most %d", n, maxAttributedCalls+1)
	}
	var total uint64
	for k, n := range c {
		total += n
		if len(k.UserAgent) > maxAttributeLen {
			t.Fatalf("a User-Agent of %d bytes was kept", len(k.UserAgent))
		}
	}
	if byAction := c.byAction()["DescribeImageSharePermission"]["Success"]; total != calls || byAction != calls {
		t.Errorf("counted %d attributed and %d by action, want %d", total, byAction, calls)
	}
	if c[Call{Action: "DescribeImageSharePermission", Outcome: "Success", AccessKeyID: overflowAttribute,
		Principal: overflowAttribute, Region: overflowAttribute, Image: overflowAttribute, UserAgent: overflowAttribute}] != 500 {
		t.Error("calls past the bound are not counted under the overflow attribution")
	}
}
