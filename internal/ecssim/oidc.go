package ecssim

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// oidcKeyBits is the size of the keys the simulator signs OIDC tokens with.
const oidcKeyBits = 2048

// defaultOIDCTokenTTL is how long a minted token lasts when no ttl is given.
const defaultOIDCTokenTTL = time.Hour

// oidcProvider is an OIDC provider and the key its tokens are signed with:
// the simulator plays the identity provider (the ACK cluster's issuer) too.
type oidcProvider struct {
	OIDCProvider
	arn string
	key *rsa.PrivateKey
	kid string
}

func newOIDCProvider(p OIDCProvider, key *rsa.PrivateKey) *oidcProvider {
	if len(p.ClientIDs) == 0 {
		p.ClientIDs = []string{DefaultOIDCClientID}
	}
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey) // An RSA public key always marshals.
	sum := sha256.Sum256(der)
	return &oidcProvider{OIDCProvider: p, arn: OIDCProviderARN(p.Account, p.Name), key: key, kid: hex.EncodeToString(sum[:8])}
}

// addKeys generates a signing key for each of cfg's providers that has none
// yet. The caller holds s.mu.
func (s *Simulator) addKeys(cfg Config) error {
	for _, p := range cfg.OIDCProviders {
		arn := OIDCProviderARN(p.Account, p.Name)
		if s.oidcKeys[arn] != nil {
			continue
		}
		key, err := rsa.GenerateKey(rand.Reader, oidcKeyBits)
		if err != nil {
			return fmt.Errorf("oidc provider %s: generating its signing key: %w", arn, err)
		}
		s.oidcKeys[arn] = key
	}
	return nil
}

type jwtHeader struct {
	Alg string `json:"alg"`
	Kid string `json:"kid,omitempty"`
	Typ string `json:"typ,omitempty"`
}

// jwtClaims are the claims STS reads. Audience is written as a list, as
// Kubernetes projects service account tokens, and read as a string or a list.
type jwtClaims struct {
	Issuer   string   `json:"iss"`
	Subject  string   `json:"sub"`
	Audience audience `json:"aud"`
	Expiry   int64    `json:"exp"`
	IssuedAt int64    `json:"iat"`
}

type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		*a = audience{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*a = many
	return nil
}

var jwtEncoding = base64.RawURLEncoding

// sign makes an RS256 JWT of claims.
func (p *oidcProvider) sign(claims jwtClaims) (string, error) {
	header, err := json.Marshal(jwtHeader{Alg: "RS256", Kid: p.kid, Typ: "JWT"})
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	signed := jwtEncoding.EncodeToString(header) + "." + jwtEncoding.EncodeToString(payload)
	sum := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, p.key, crypto.SHA256, sum[:])
	if err != nil {
		return "", err
	}
	return signed + "." + jwtEncoding.EncodeToString(sig), nil
}

func errOIDCToken(code, msg string) *APIError {
	return &APIError{Status: http.StatusUnauthorized, Code: code, Message: msg}
}

// verify checks a token as STS does: its form, its signature by this
// provider's key, then issuer, audience and expiry. Errors never quote the
// token.
func (p *oidcProvider) verify(token string, now time.Time) (jwtClaims, *APIError) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return jwtClaims{}, errOIDCToken(CodeOIDCTokenInvalid, "The OIDCToken is not a JSON Web Token (header.payload.signature).")
	}
	var header jwtHeader
	var claims jwtClaims
	rawHeader, err1 := jwtEncoding.DecodeString(parts[0])
	rawClaims, err2 := jwtEncoding.DecodeString(parts[1])
	sig, err3 := jwtEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil || json.Unmarshal(rawHeader, &header) != nil || json.Unmarshal(rawClaims, &claims) != nil {
		return jwtClaims{}, errOIDCToken(CodeOIDCTokenInvalid, "The OIDCToken is not a well-formed JSON Web Token.")
	}
	if header.Alg != "RS256" {
		return jwtClaims{}, errOIDCToken(CodeOIDCTokenInvalid, "The OIDCToken must be signed with RS256.")
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(&p.key.PublicKey, crypto.SHA256, sum[:], sig) != nil {
		return jwtClaims{}, errOIDCToken(CodeOIDCTokenSignature, "The OIDCToken's signature does not verify with the OIDC provider's keys.")
	}
	if claims.Issuer != p.Issuer {
		return jwtClaims{}, errOIDCToken(CodeOIDCTokenIssuerNotMatch, "The OIDCToken's issuer does not match the OIDC provider's issuer URL.")
	}
	if !slices.ContainsFunc(claims.Audience, func(a string) bool { return slices.Contains(p.ClientIDs, a) }) {
		return jwtClaims{}, errOIDCToken(CodeOIDCTokenAudience, "Invalid audience.")
	}
	if !now.Before(time.Unix(claims.Expiry, 0)) {
		return jwtClaims{}, errOIDCToken(CodeOIDCTokenExpired, "This JsonWebToken is expired.")
	}
	if claims.Subject == "" {
		return jwtClaims{}, errOIDCToken(CodeOIDCTokenInvalid, "The OIDCToken has no subject.")
	}
	return claims, nil
}

// MintOIDCToken signs a token as the provider (its ARN) would issue it, as
// a kubelet projects one: RS256, with iss, sub, aud, iat and exp = now+ttl.
// An empty audience is DefaultOIDCClientID; a zero ttl an hour; a negative
// ttl makes a token that has already expired.
func (s *Simulator) MintOIDCToken(provider, subject, aud string, ttl time.Duration) (string, error) {
	if subject == "" {
		return "", fmt.Errorf("a token needs a subject, such as system:serviceaccount:<namespace>:<name>")
	}
	if aud == "" {
		aud = DefaultOIDCClientID
	}
	if ttl == 0 {
		ttl = defaultOIDCTokenTTL
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.providers[provider]
	if p == nil {
		return "", fmt.Errorf("no OIDC provider %q: name one of oidcProviders by its ARN", provider)
	}
	now := s.clock()
	return p.sign(jwtClaims{Issuer: p.Issuer, Subject: subject, Audience: audience{aud},
		IssuedAt: now.Unix(), Expiry: now.Add(ttl).Unix()})
}
