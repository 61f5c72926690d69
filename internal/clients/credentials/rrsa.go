package credentials

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// RRSAAudience is the audience of the tokens ACK projects for RRSA
// (ack-pod-identity-webhook's serviceAccountToken volume), which is the
// client ID STS expects of an ACK cluster's OIDC provider.
const RRSAAudience = "sts.aliyuncs.com"

// checkRRSAToken refuses a token that is not meant for STS before it is
// sent anywhere: a JWT whose payload has an issuer and whose audience
// includes RRSAAudience. The Kubernetes API's own service account token
// (audience the API server, such as https://kubernetes.default.svc) fails,
// so a configuration that names its file, and an STS endpoint of its own,
// does not get the provider's Kubernetes identity. The signature is not
// verified: STS does that. Errors name the file and the claims, never the
// token or a claim's value.
func checkRRSAToken(path, token string) error {
	notRRSA := func(why string) error {
		return fmt.Errorf("the OIDC token file %s does not hold an RRSA token: %s; the provider sends STS only tokens whose aud includes %s "+
			"(is the file the Kubernetes API's service account token rather than the RRSA token ACK projects?)", path, why, RRSAAudience)
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return notRRSA("it is not a JSON Web Token (header.payload.signature)")
	}
	// The token is at most maxTokenBytes, so the payload is too.
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return notRRSA("its payload is not base64url")
	}
	var claims struct {
		Issuer   string          `json:"iss"`
		Audience json.RawMessage `json:"aud"`
	}
	if json.Unmarshal(payload, &claims) != nil {
		return notRRSA("its payload is not a JSON object")
	}
	if !hasAudience(claims.Audience, RRSAAudience) {
		return notRRSA("its aud does not include " + RRSAAudience)
	}
	if claims.Issuer == "" {
		return notRRSA("it has no iss")
	}
	return nil
}

// hasAudience reports whether aud, a JWT's aud claim (a string or a list of
// strings), includes want.
func hasAudience(aud json.RawMessage, want string) bool {
	var one string
	if json.Unmarshal(aud, &one) == nil {
		return one == want
	}
	var many []string
	if json.Unmarshal(aud, &many) == nil {
		return slices.Contains(many, want)
	}
	return false
}
