package credentials

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// maxTokenBytes is STS's limit on an OIDC token.
const maxTokenBytes = 20000

// Static returns a Source of fixed keys. Its ID is the AccessKey ID.
func Static(c Credentials) Source { return static{c} }

type static struct{ c Credentials }

func (s static) Credentials(context.Context) (Credentials, error) { return s.c, nil }

// Refused does nothing: fixed keys have nothing fresher.
func (static) Refused(Credentials) {}
func (s static) ID() string        { return s.c.AccessKeyID }

// OIDCTokenFile is where an OIDC (RRSA) session comes from.
type OIDCTokenFile struct {
	RoleARN, ProviderARN string
	// TokenFile is read again for every exchange, because the kubelet
	// replaces a projected service account token before it expires.
	TokenFile   string
	SessionName string
	Duration    time.Duration
}

// OIDC returns a Source of sessions of in.RoleARN for the token in
// in.TokenFile. Its ID is the role ARN. A token is sent to STS only if it
// is an RRSA token (see checkRRSAToken).
func OIDC(c STS, in OIDCTokenFile, opts ...Option) Source {
	name := fmt.Sprintf("oidc (%s)", in.RoleARN)
	return newRefreshing(in.RoleARN, name, func(ctx context.Context) (Session, error) {
		token, err := readToken(in.TokenFile)
		if err != nil {
			return Session{}, err
		}
		if err := checkRRSAToken(in.TokenFile, token); err != nil {
			return Session{}, err
		}
		return c.AssumeRoleWithOIDC(ctx, OIDCInput{
			RoleARN: in.RoleARN, ProviderARN: in.ProviderARN, Token: token, SessionName: in.SessionName, Duration: in.Duration,
		})
	}, opts)
}

// readToken reads a token file of at most maxTokenBytes. Errors name the
// file, never its content.
func readToken(path string) (string, error) {
	if path == "" {
		return "", errors.New("no OIDC token file: set the path of the projected service account token")
	}
	f, err := os.Open(path) //nolint:gosec // The path is the configured token file, to be read.
	if err != nil {
		return "", fmt.Errorf("cannot open the OIDC token file: %w", err)
	}
	defer func() { _ = f.Close() }() // Nothing to do about a failed close of a read file.
	b, err := io.ReadAll(io.LimitReader(f, maxTokenBytes+1))
	switch {
	case err != nil:
		return "", fmt.Errorf("cannot read the OIDC token file %s: %w", path, err)
	case len(b) > maxTokenBytes:
		return "", fmt.Errorf("the OIDC token file %s is longer than %d bytes: is it the projected service account token?", path, maxTokenBytes)
	}
	token := strings.TrimSpace(string(b))
	if token == "" {
		return "", fmt.Errorf("the OIDC token file %s is empty", path)
	}
	return token, nil
}

// ECSRole returns a Source of the sessions of the instance's RAM role
// roleName, or of whichever role is attached when roleName is empty. Its ID
// is "ecs-role:<name>", "ecs-role:" alone for the attached role.
func ECSRole(c Metadata, roleName string, opts ...Option) Source {
	name := "ecs-role (the instance's role)"
	if roleName != "" {
		name = fmt.Sprintf("ecs-role (%s)", roleName)
	}
	return newRefreshing("ecs-role:"+roleName, name, func(ctx context.Context) (Session, error) {
		return c.Credentials(ctx, roleName)
	}, opts)
}

// AssumeRole returns a Source of sessions of hop.RoleARN, each assumed with
// base's credentials. Its ID is the role ARN after base's ID, so that two
// chains to one role from different bases are two sources.
func AssumeRole(c STS, base Source, hop AssumeRoleInput, opts ...Option) Source {
	n := hops(base) + 1
	name := fmt.Sprintf("assume-role hop %d (%s)", n, hop.RoleARN)
	s := newRefreshing(base.ID()+" > "+hop.RoleARN, name, func(ctx context.Context) (Session, error) {
		return assume(ctx, c, base, hop)
	}, opts)
	return &chained{refreshing: s, hop: n}
}

// assume signs the hop with base's credentials. STS refusing them as
// expired or unknown (the base session was revoked) tells base, and the hop
// is tried once more with base's fresh credentials, if it has any.
func assume(ctx context.Context, c STS, base Source, hop AssumeRoleInput) (Session, error) {
	creds, err := base.Credentials(ctx)
	if err != nil {
		return Session{}, err
	}
	sess, err := c.AssumeRole(ctx, creds, hop)
	if !errors.Is(err, ErrRefused) {
		return sess, err
	}
	base.Refused(creds)
	fresh, ferr := base.Credentials(ctx)
	if ferr != nil {
		return Session{}, fmt.Errorf("%w; then %w", err, ferr)
	}
	if sameKeys(fresh, creds) {
		return Session{}, err
	}
	return c.AssumeRole(ctx, fresh, hop)
}

// chained is an AssumeRole session that knows its place in the chain.
type chained struct {
	*refreshing
	hop int
}

// hops is how many AssumeRole hops s is: 0 for any base.
func hops(s Source) int {
	if c, ok := s.(*chained); ok {
		return c.hop
	}
	return 0
}
