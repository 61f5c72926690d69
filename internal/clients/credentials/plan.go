package credentials

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// BaseKind is where a plan's first credentials come from.
type BaseKind string

// The base credentials a plan can start from.
const (
	// BaseStatic is fixed keys: a credentials document from a Secret, the
	// environment or a file.
	BaseStatic BaseKind = "Static"
	// BaseRRSA is an OIDC token exchanged with STS (ACK's RRSA).
	BaseRRSA BaseKind = "RRSA"
	// BaseECSRole is the RAM role of the ECS instance, from its metadata
	// service.
	BaseECSRole BaseKind = "ECSRole"
)

// Plan is everything one configuration's credentials are built from, with
// every default applied. Its Fingerprint keys every cache of what is built
// from it, so that a changed field, a rotated Secret or a re-created
// configuration is a new entry, never an old one reused.
type Plan struct {
	// Owner is the UID of the configuration the plan is for: two
	// configurations never share what is built from a plan, whatever their
	// names, even one deleted and re-created under the same name.
	Owner string
	Kind  BaseKind
	// Static are the keys of BaseStatic.
	Static Credentials
	// RRSA is the exchange of BaseRRSA.
	RRSA OIDCTokenFile
	// ECSRole is the role of BaseECSRole; empty asks the metadata service.
	ECSRole string
	// Metadata is the metadata service's endpoint, for BaseECSRole.
	Metadata string
	// Chain are the roles assumed in turn on top of the base.
	Chain []AssumeRoleInput
	// STS is where RRSA and the chain's hops are exchanged, and identities
	// checked. Its UserAgent is the process's, and not part of the
	// fingerprint.
	STS STSEndpoint
}

// Fingerprint hashes a canonical encoding of every field of the plan: JSON
// of plain values, in a fixed order, with no pointer whose address could
// make two equal plans differ. Secrets count by their hashes only, so the
// fingerprint reveals none.
func (p Plan) Fingerprint() string {
	type hop struct {
		RoleARN     string        `json:"roleARN"`
		SessionName string        `json:"sessionName"`
		ExternalID  string        `json:"externalID"`
		Policy      string        `json:"policy"`
		Duration    time.Duration `json:"duration"`
	}
	view := struct {
		Owner  string   `json:"owner"`
		Kind   BaseKind `json:"kind"`
		Static string   `json:"static"`
		RRSA   struct {
			RoleARN     string        `json:"roleARN"`
			ProviderARN string        `json:"providerARN"`
			TokenFile   string        `json:"tokenFile"`
			SessionName string        `json:"sessionName"`
			Duration    time.Duration `json:"duration"`
		} `json:"rrsa"`
		ECSRole  string `json:"ecsRole"`
		Metadata string `json:"metadata"`
		Chain    []hop  `json:"chain"`
		STS      struct {
			URL            string        `json:"url"`
			AllowPlainHTTP bool          `json:"allowPlainHTTP"`
			CABundle       string        `json:"caBundle"`
			Connect        time.Duration `json:"connect"`
			Read           time.Duration `json:"read"`
		} `json:"sts"`
	}{Owner: p.Owner, Kind: p.Kind, ECSRole: p.ECSRole, Metadata: p.Metadata}
	// Converted, so that a field added to the inputs and not here does not
	// compile, and TestFingerprint catches one left out of the view.
	view.RRSA.RoleARN, view.RRSA.ProviderARN, view.RRSA.TokenFile = p.RRSA.RoleARN, p.RRSA.ProviderARN, p.RRSA.TokenFile
	view.RRSA.SessionName, view.RRSA.Duration = p.RRSA.SessionName, p.RRSA.Duration
	for _, h := range p.Chain {
		view.Chain = append(view.Chain, hop(h))
	}
	if p.Static != (Credentials{}) {
		view.Static = digest(p.Static.AccessKeyID + "\x00" + p.Static.AccessKeySecret + "\x00" + p.Static.SecurityToken)
	}
	view.STS.URL, view.STS.AllowPlainHTTP = p.STS.URL, p.STS.AllowPlainHTTP
	view.STS.Connect, view.STS.Read = p.STS.ConnectTimeout, p.STS.ReadTimeout
	if len(p.STS.CABundle) > 0 {
		view.STS.CABundle = digest(string(p.STS.CABundle))
	}
	b, err := json.Marshal(view)
	if err != nil {
		// Plain strings, numbers and bools always encode.
		panic(fmt.Sprintf("cannot encode a credentials plan: %v", err))
	}
	return digest(string(b))
}

func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// Built is what a plan builds: its credential source, and the STS client
// that checks who the source's credentials are. It is built once per
// fingerprint and shared by every user of the configuration: its managed
// resources and its identity check.
type Built struct {
	// Source gives the configuration's credentials.
	Source Source

	plan    Plan
	clients Clients
	sts     STS
	stsErr  error
	once    sync.Once
	md      Metadata
	// account is the account GetCallerIdentity proved these credentials
	// to be, once it has.
	account atomic.Pointer[string]
}

// Build makes the source a plan describes, with clients made by c: the
// base, then each hop of the chain signed by the one before. It makes no
// call.
func (p Plan) Build(c Clients) (*Built, error) {
	b := &Built{plan: p, clients: c}
	var client STS
	if p.Kind == BaseRRSA || len(p.Chain) > 0 {
		var err error
		if client, err = b.STS(); err != nil {
			return nil, err
		}
	}
	switch p.Kind {
	case BaseRRSA:
		b.Source = OIDC(client, p.RRSA)
	case BaseECSRole:
		md, err := c.NewMetadata(p.Metadata)
		if err != nil {
			return nil, err
		}
		b.md = md
		b.Source = ECSRole(md, p.ECSRole)
	case BaseStatic:
		b.Source = Static(p.Static)
	default:
		return nil, fmt.Errorf("unknown credentials base %q", p.Kind)
	}
	for _, hop := range p.Chain {
		b.Source = AssumeRole(client, b.Source, hop)
	}
	return b, nil
}

// STS returns the plan's STS client, made on first use: a configuration
// of fixed keys needs one only for its identity check.
func (b *Built) STS() (STS, error) {
	b.once.Do(func() {
		client, err := b.clients.NewSTS(b.plan.STS)
		if err != nil {
			b.stsErr = fmt.Errorf("stsEndpoint: %w", err)
			return
		}
		b.sts = client
	})
	return b.sts, b.stsErr
}

// Identity asks STS who the source's credentials are, through the same
// sessions the configuration's resources use, and remembers the account
// for Account.
func (b *Built) Identity(ctx context.Context) (Identity, error) {
	client, err := b.STS()
	if err != nil {
		return Identity{}, err
	}
	creds, err := b.Source.Credentials(ctx)
	if err != nil {
		return Identity{}, err
	}
	id, err := client.GetCallerIdentity(ctx, creds)
	if err != nil {
		return Identity{}, err
	}
	account := id.AccountID
	b.account.Store(&account)
	return id, nil
}

// Account is the account STS last proved these credentials to be, or ""
// before it has: a claim in a Secret proves nothing.
func (b *Built) Account() string {
	if a := b.account.Load(); a != nil {
		return *a
	}
	return ""
}

// Close frees the connections of the clients the plan built. Calls in
// flight end by their deadlines.
func (b *Built) Close() {
	// Marks the STS client made, if it was not, so none is made after.
	b.once.Do(func() {})
	if b.sts != nil {
		b.sts.Close()
	}
	if b.md != nil {
		b.md.Close()
	}
}
