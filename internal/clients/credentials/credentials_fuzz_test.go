package credentials_test

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/credentials"
)

// credentialKeys are the documented spellings, this provider's and
// provider-upjet-alibabacloud's, of the ID, the secret and the token.
var credentialKeys = [3][2]string{
	{"accessKeyId", "access_key"},
	{"accessKeySecret", "secret_key"},
	{"securityToken", "security_token"},
}

// credentialErrorVocabulary is every error Parse can give,
// provoked once through documents that hold no secret. A string found in
// it is the message's own wording, not something echoed from the input, so
// the leak check below must not count it (a secret spelled "credentials"
// cannot be told from the word).
var credentialErrorVocabulary = sync.OnceValue(func() string {
	docs := []string{"", "not json", "{}", `{"accessKeyId":"a"}`, `{"accessKeySecret":"a"}`}
	for _, k := range credentialKeys[0] {
		docs = append(docs, `{"`+k+`":"-"}`, `{"`+k+`":"`+strings.Repeat("a", 129)+`"}`)
	}
	for _, keys := range credentialKeys {
		docs = append(docs, `{"`+keys[0]+`":"a","`+keys[1]+`":"b"}`)
		for _, k := range keys {
			docs = append(docs, `{"`+k+`":1}`)
		}
	}
	var texts []string
	for _, d := range docs {
		if _, err := credentials.Parse([]byte(d)); err != nil {
			texts = append(texts, err.Error())
		}
	}
	return strings.Join(texts, "\n")
})

// jsonStrings is every string token, key or value at any depth, that a
// JSON decoder reads from doc before it stops at the first syntax error.
func jsonStrings(doc []byte) []string {
	dec := json.NewDecoder(bytes.NewReader(doc))
	var out []string
	for {
		tok, err := dec.Token()
		if err != nil {
			return out
		}
		if s, ok := tok.(string); ok {
			out = append(out, s, strings.TrimSpace(s))
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, doc := range []string{
		`{"accessKeyId":"LTAIfuzzKey","accessKeySecret":"fuzz-secret-value"}`,
		`{"access_key":"LTAIfuzzKey","secret_key":"fuzz-secret-value","security_token":"fuzz-token-value"}`,
		" {\"accessKeyId\":\" LTAIfuzzKey\\n\",\"accessKeySecret\":\"\\u0066uzz-secret\",\"securityToken\":null}\n",
		`{"accessKeyId":"LTAIfuzzKey","access_key":"LTAIfuzzKey","accessKeySecret":"fuzz-secret-value"}`,
		`{"accessKeyId":"LTAIfuzzKey","access_key":"LTAIother","accessKeySecret":"fuzz-secret-value"}`,
		`{"accessKeyId":"LTAIfuzzKey","accessKeySecret":["fuzz-secret-value"]}`,
		`{"accessKeyId":"LTAIfuzzKey","accessKeySecret":{"v":"fuzz-secret-value"}}`,
		`{"accessKeyId":"LTAIfuzzKey","accessKeySecret":"   "}`,
		`{"accessKeyId":"LTAIfuzzKey","accessKeySecret":"fuzz-secret-value"`,
		`["LTAIfuzzKey","fuzz-secret-value"]`,
		`"fuzz-secret-value"`,
		`null`, `{}`, ``, " \t\n",
		"LTAIfuzzKey:fuzz-secret-value",
		`{"accessKeyId":"LTAIfuzzKey","accessKeyId":"","accessKeySecret":"fuzz-secret-value"}`,
		"{\"accessKeyId\":\"LTAI\xff\",\"accessKeySecret\":\"s\xc3\"}",
		`{"accessKeyId":"fuzz-secret-value","accessKeySecret":"LTAIfuzzKey"}`,
		`{"access_key":"STS.fuzz Key","secret_key":"fuzz-secret-value"}`,
		`{"accessKeyId":"` + strings.Repeat("L", 129) + `","accessKeySecret":"fuzz-secret-value"}`,
	} {
		f.Add([]byte(doc))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		c, err := credentials.Parse(doc)
		if err != nil {
			for _, s := range jsonStrings(doc) {
				if len(s) >= 4 && strings.Contains(err.Error(), s) && !strings.Contains(credentialErrorVocabulary(), s) {
					t.Fatalf("Parse(%q): error %q quotes %q from the document", doc, err, s)
				}
			}
			return
		}
		fields := map[string]string{"AccessKeyID": c.AccessKeyID, "AccessKeySecret": c.AccessKeySecret, "SecurityToken": c.SecurityToken}
		for name, v := range fields {
			if v != strings.TrimSpace(v) {
				t.Fatalf("Parse(%q).%s = %q, not trimmed", doc, name, v)
			}
		}
		if c.AccessKeyID == "" || c.AccessKeySecret == "" {
			t.Fatalf("Parse(%q) = %v with a required field empty and no error", doc, c)
		}
		if !accessKeyIDPattern.MatchString(c.AccessKeyID) {
			t.Fatalf("Parse(%q) accepted the AccessKey ID %q", doc, c.AccessKeyID)
		}
		// Each field must come from one of its own keys: a mix-up of ID and
		// secret would sign with the ID and send the secret in the clear.
		var raw map[string]any
		if json.Unmarshal(doc, &raw) != nil {
			t.Fatalf("Parse(%q) accepted a document encoding/json rejects", doc)
		}
		for i, v := range []string{c.AccessKeyID, c.AccessKeySecret, c.SecurityToken} {
			if v != "" && !fromKey(raw, credentialKeys[i], v) {
				t.Fatalf("Parse(%q): %q is under neither %s nor %s", doc, v, credentialKeys[i][0], credentialKeys[i][1])
			}
		}
	})
}

// accessKeyIDPattern is every AccessKey ID Parse may accept.
var accessKeyIDPattern = regexp.MustCompile(`^[A-Za-z0-9.]{1,128}$`)

// fromKey reports whether v is, trimmed, the string under one of keys.
func fromKey(raw map[string]any, keys [2]string, v string) bool {
	for _, k := range keys {
		if s, ok := raw[k].(string); ok && strings.TrimSpace(s) == v {
			return true
		}
	}
	return false
}
