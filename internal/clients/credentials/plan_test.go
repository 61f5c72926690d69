package credentials_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/credentials"
)

// fullPlan sets every field, so that changing any one is a change from a
// set value.
func fullPlan() credentials.Plan {
	return credentials.Plan{
		Owner:  "uid-1",
		Kind:   credentials.BaseStatic,
		Static: credentials.Credentials{AccessKeyID: "LTAIkey", AccessKeySecret: "secret", SecurityToken: "token"},
		RRSA: credentials.OIDCTokenFile{RoleARN: "acs:ram::1:role/r", ProviderARN: "acs:ram::1:oidc-provider/p",
			TokenFile: "/token", SessionName: "s", Duration: time.Hour},
		ECSRole:  "role",
		Metadata: "http://100.100.100.200",
		Chain: []credentials.AssumeRoleInput{{RoleARN: "acs:ram::2:role/hop", SessionName: "hop", ExternalID: "x",
			Policy: `{"Version":"1"}`, Duration: time.Hour}},
		STS: credentials.STSEndpoint{URL: "https://sts.aliyuncs.com", AllowPlainHTTP: true, CABundle: []byte("ca"),
			ConnectTimeout: time.Second, ReadTimeout: time.Second, UserAgent: "agent"},
	}
}

// TestFingerprint changes every field of a plan, one at a time, reaching
// into its structs and its chain by reflection so that a field added later
// is covered too: each change must change the fingerprint, but for the
// process-wide User-Agent. Equal plans built apart must agree.
func TestFingerprint(t *testing.T) {
	base := fullPlan()
	if fullPlan().Fingerprint() != base.Fingerprint() {
		t.Fatal("two equal plans have different fingerprints: a cache keyed by them would never hit")
	}
	var walk func(path string, v reflect.Value, mutate func(func(reflect.Value)))
	walk = func(path string, v reflect.Value, mutate func(func(reflect.Value))) {
		switch v.Kind() { //nolint:exhaustive // Structs and slices of structs are walked into; every other kind is a leaf.
		case reflect.Struct:
			for i := range v.NumField() {
				f := v.Type().Field(i)
				if !f.IsExported() {
					continue
				}
				walk(path+"."+f.Name, v.Field(i), func(set func(reflect.Value)) {
					mutate(func(p reflect.Value) { set(p.Field(i)) })
				})
			}
			return
		case reflect.Slice:
			if v.Type().Elem().Kind() == reflect.Struct {
				walk(path+"[0]", v.Index(0), func(set func(reflect.Value)) {
					mutate(func(p reflect.Value) {
						fresh := reflect.MakeSlice(p.Type(), p.Len(), p.Len())
						reflect.Copy(fresh, p)
						p.Set(fresh)
						set(p.Index(0))
					})
				})
				return
			}
		}
		mutate(func(f reflect.Value) {
			switch f.Kind() {
			case reflect.String:
				f.SetString(f.String() + "x")
			case reflect.Bool:
				f.SetBool(!f.Bool())
			case reflect.Int64: // time.Duration
				f.SetInt(f.Int() + 1)
			case reflect.Slice: // []byte
				f.SetBytes(append([]byte("x"), f.Bytes()...))
			default:
				t.Fatalf("%s: a %s field: teach this test to change it", path, f.Kind())
			}
		})
	}
	// At the root, each leaf's change is applied to a fresh plan.
	walk("Plan", reflect.ValueOf(base), func(set func(reflect.Value)) {
		changed := fullPlan()
		set(reflect.ValueOf(&changed).Elem())
		path := describe(base, changed)
		same := changed.Fingerprint() == base.Fingerprint()
		switch {
		case strings.HasSuffix(path, "UserAgent") && !same:
			t.Errorf("%s changed the fingerprint: it is the process's, not the configuration's", path)
		case !strings.HasSuffix(path, "UserAgent") && same:
			t.Errorf("%s changed but the fingerprint did not: a cache keyed by it would hand out what was built from the old value", path)
		}
	})
	if strings.Contains(base.Fingerprint(), "secret") {
		t.Error("the fingerprint shows a secret")
	}
}

// describe names the field in which two plans differ.
func describe(a, b credentials.Plan) string {
	var find func(path string, x, y reflect.Value) string
	find = func(path string, x, y reflect.Value) string {
		switch x.Kind() { //nolint:exhaustive // As in TestFingerprint's walk.
		case reflect.Struct:
			for i := range x.NumField() {
				if !x.Type().Field(i).IsExported() {
					continue
				}
				if p := find(path+"."+x.Type().Field(i).Name, x.Field(i), y.Field(i)); p != "" {
					return p
				}
			}
			return ""
		case reflect.Slice:
			if x.Type().Elem().Kind() == reflect.Struct {
				return find(path+"[0]", x.Index(0), y.Index(0))
			}
		}
		if !reflect.DeepEqual(x.Interface(), y.Interface()) {
			return path
		}
		return ""
	}
	return find("Plan", reflect.ValueOf(a), reflect.ValueOf(b))
}
