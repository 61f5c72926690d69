package common_test

import (
	"strings"
	"testing"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/common"
)

// The external name is the only link between an object and its share that
// survives a restart, so the parser must accept exactly what ExternalName
// writes: <image_id>:<account_id>, one colon, neither side empty. Anything
// looser could adopt the wrong share on import; anything stricter would
// strand objects whose names the provider itself wrote.

func FuzzParseExternalName(f *testing.F) {
	for _, name := range []string{
		"m-bp1g7004ksh0oeuco4y5:1234567890123456",
		"m-a:1",
		"", ":", "::", "m-a:", ":1", "m-a::1", "m-a:1:", ":m-a:1", "m-a:1:2",
		"m-a", "m-a 1", " m-a : 1 ", "m-a\x00:1", "m-\u00e9:\u0661",
	} {
		f.Add(name)
	}
	f.Fuzz(func(t *testing.T, name string) {
		image, account, ok := common.ParseExternalName(name)
		wellFormed := strings.Count(name, ":") == 1 && !strings.HasPrefix(name, ":") && !strings.HasSuffix(name, ":")
		if ok != wellFormed {
			t.Fatalf("ParseExternalName(%q) ok = %v, but the name has %d colons (want exactly one, between two non-empty parts)",
				name, ok, strings.Count(name, ":"))
		}
		if !ok {
			return
		}
		p := common.ImageSharePermissionParameters{ImageID: image, AccountID: account}
		if got := p.ExternalName(); got != name {
			t.Fatalf("ParseExternalName(%q) = %q, %q, which format back as %q", name, image, account, got)
		}
	})
}

// FuzzExternalName goes the other way: every share whose ids could be
// written must be read back as the same share, and an id holding a colon
// must not be mistaken for another share's name.
func FuzzExternalName(f *testing.F) {
	f.Add("m-bp1g7004ksh0oeuco4y5", "1234567890123456")
	f.Add("m-a", "")
	f.Add("", "1")
	f.Add("m-a:b", "1")
	f.Add("m-a", "1:2")
	f.Fuzz(func(t *testing.T, imageID, accountID string) {
		name := common.ImageSharePermissionParameters{ImageID: imageID, AccountID: accountID}.ExternalName()
		image, account, ok := common.ParseExternalName(name)
		representable := imageID != "" && accountID != "" && !strings.Contains(imageID+accountID, ":")
		switch {
		case representable && (!ok || image != imageID || account != accountID):
			t.Fatalf("ExternalName of (%q, %q) is %q, which parses as %q, %q, ok=%v", imageID, accountID, name, image, account, ok)
		case !representable && ok:
			t.Fatalf("ExternalName of (%q, %q) is %q, which parses as the share (%q, %q)", imageID, accountID, name, image, account)
		}
	})
}
