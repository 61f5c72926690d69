package ecssim

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// Config seeds a Simulator. It is the document --state reads (YAML or JSON)
// and what the control API's reset returns the simulator to.
type Config struct {
	// Accounts are the Alibaba Cloud accounts the simulator knows. An account
	// without AccessKeys can receive shares but cannot call the API.
	Accounts []Account `json:"accounts,omitempty"`
	// Images are custom images, each owned by one account in one region.
	Images []Image `json:"images,omitempty"`
	Limits Limits  `json:"limits,omitzero"`
	// AcceptAnyAccount lets AddAccount name any numeric account id, as on the
	// real service where every account exists. Off by default so that an
	// unknown target answers InvalidAccount.NotFound.
	AcceptAnyAccount bool   `json:"acceptAnyAccount,omitempty"`
	Faults           Faults `json:"faults,omitzero"`
	// Roles are RAM roles STS lets trusted callers assume.
	Roles []Role `json:"roles,omitempty"`
	// OIDCProviders are RAM OIDC identity providers, such as an ACK
	// cluster's RRSA issuer. The simulator signs their tokens itself:
	// MintOIDCToken.
	OIDCProviders []OIDCProvider `json:"oidcProviders,omitempty"`
	// Instance is the ECS instance the metadata surface describes; without
	// it the metadata surface knows no role.
	Instance *Instance `json:"instance,omitempty"`
	// STS tunes issued sessions.
	STS STSOptions `json:"sts,omitzero"`
}

// Account is an Alibaba Cloud account (a numeric UID) and its credentials.
type Account struct {
	ID         string      `json:"id"`
	AccessKeys []AccessKey `json:"accessKeys,omitempty"`
}

// AccessKey is an AccessKey pair. With SecurityToken set it is an STS
// credential: every call must carry that token, and it stops working at
// Expiration.
type AccessKey struct {
	ID            string     `json:"id"`
	Secret        string     `json:"secret"`
	SecurityToken string     `json:"securityToken,omitempty"`
	Expiration    *time.Time `json:"expiration,omitempty"`
	// AllowedActions, when set, is the RAM policy of the key's user: calling
	// any other action answers Forbidden.RAM. Empty allows every action.
	AllowedActions []string `json:"allowedActions,omitempty"`
	// Root marks an account's own (root) AccessKey: it may not assume
	// roles, and GetCallerIdentity says IdentityType Account. Default: a
	// RAM user's key.
	Root bool `json:"root,omitempty"`
	// User is the RAM user a non-root key belongs to; default DefaultUser.
	User string `json:"user,omitempty"`
}

// DefaultUser is the RAM user of a key that names none.
const DefaultUser = "sim-user"

// Image is a custom image.
type Image struct {
	ID     string `json:"id"`
	Region string `json:"region"`
	Owner  string `json:"owner"`
	// Status is one of ImageStatuses; empty means Available.
	Status     string   `json:"status,omitempty"`
	Name       string   `json:"name,omitempty"`
	IsPublic   bool     `json:"isPublic,omitempty"`
	SharedWith []string `json:"sharedWith,omitempty"`
	// MaxShares overrides Limits.MaxSharesPerImage for this image, as a
	// support ticket does on the real service.
	MaxShares int `json:"maxShares,omitempty"`
	// Family is the image family the image is a version of: the family's
	// newest Available version, by CreationTime, is what
	// DescribeImageFromFamily answers. Named as ECS names families.
	Family string `json:"family,omitempty"`
	// CreationTime orders a family's versions; zero means when the image
	// was put, and images put at the same instant are ordered as put.
	CreationTime time.Time `json:"creationTime,omitzero"`
	// Encryption is how the image's disks are encrypted: "" (not at all),
	// EncryptionCMK or EncryptionServiceKey. Sharing an encrypted image
	// meets ECS's refusals (see checkEncrypted).
	Encryption string `json:"encryption,omitempty"`
}

// The encryptions of an Image.
const (
	// EncryptionCMK is a customer-managed KMS key: the image can be shared
	// once its owner has the RAM role ShareEncryptedImageRole, trusting
	// each account it is shared with.
	EncryptionCMK = "cmk"
	// EncryptionServiceKey is ECS's own service key: the image cannot be
	// shared; a copy encrypted with a CMK can.
	EncryptionServiceKey = "serviceKey"
)

// ShareEncryptedImageRole is the RAM role ECS assumes in the owner's
// account to let another account use the KMS key of an encrypted image.
// Its trust policy must name "<account>@ecs.aliyuncs.com" for each account
// the image is shared with.
const ShareEncryptedImageRole = "AliyunECSShareEncryptImageDefaultRole"

// familyPattern is ECS's rule for family names: 2-128 letters, digits,
// colons, underscores and hyphens, starting with a letter.
var familyPattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9:_-]{1,127}$`)

// validate checks what an image's fields must hold on their own.
func (im Image) validate() error {
	switch {
	case im.ID == "" || im.Region == "":
		return fmt.Errorf("image %q: id and region are required", im.ID)
	case im.Family != "" && (!familyPattern.MatchString(im.Family) || hasReservedPrefix(im.Family)):
		return fmt.Errorf("image %q: family %q must be 2-128 letters, digits, ':', '_' or '-', start with a letter, and not start with http://, https://, acs: or aliyun", im.ID, im.Family)
	case im.Encryption != "" && im.Encryption != EncryptionCMK && im.Encryption != EncryptionServiceKey:
		return fmt.Errorf("image %q: encryption %q is not one of \"\", %s, %s", im.ID, im.Encryption, EncryptionCMK, EncryptionServiceKey)
	}
	if err := validStatus(im.Status); err != nil {
		return fmt.Errorf("image %q: %w", im.ID, err)
	}
	return nil
}

func hasReservedPrefix(family string) bool {
	lower := strings.ToLower(family)
	for _, p := range []string{"http://", "https://", "acs:", "aliyun"} {
		if strings.HasPrefix(lower, p) {
			return true
		}
	}
	return false
}

// Limits are the service quotas.
type Limits struct {
	// MaxSharesPerImage is how many accounts one image can be shared with;
	// 0 means the ECS default, DefaultMaxSharesPerImage.
	MaxSharesPerImage int `json:"maxSharesPerImage,omitempty"`
	// EncryptedShareRegions, when set, are the only regions where encrypted
	// images can be shared, as ECS once allowed only some; elsewhere such a
	// share answers OperationDeined.EncryptedSnapshot. Empty: every region.
	EncryptedShareRegions []string `json:"encryptedShareRegions,omitempty"`
}

// DefaultMaxSharesPerImage is ECS's documented per-image share quota.
const DefaultMaxSharesPerImage = 50

// StatusAvailable is the status of an image that can be shared and
// launched; every other status of ImageStatuses refuses new shares.
const StatusAvailable = "Available"

// ImageStatuses are the statuses ECS reports for custom images.
var ImageStatuses = []string{"Creating", "Waiting", StatusAvailable, "UnAvailable", "CreateFailed", "Deprecated"}

var accountIDPattern = regexp.MustCompile(`^[0-9]{1,20}$`)

// Duration is a time.Duration written as "250ms" or "2s" in state files.
type Duration struct{ time.Duration }

// MarshalJSON writes the duration as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a Go duration string such as "250ms".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string such as \"250ms\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

// LoadConfig reads a state file (YAML or JSON) and validates it.
func LoadConfig(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, err
	}
	c, err := ParseConfig(b)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// ParseConfig reads a state document (YAML or JSON) as --state does and
// validates it. It is strict: an unknown or duplicate key, or a key in the
// wrong case, is an error, so
// that a misspelt fault or limit is refused instead of silently ignored
// (test/docs loads the documented example through it).
func ParseConfig(b []byte) (Config, error) {
	// Not yaml.UnmarshalStrict: encoding/json under it matches keys
	// regardless of case, so hangrate would pass for hangRate.
	j, err := yaml.YAMLToJSONStrict(b)
	if err != nil {
		return Config{}, err
	}
	var c Config
	strict, err := kjson.UnmarshalStrict(j, &c)
	if err != nil {
		return Config{}, err
	}
	if len(strict) > 0 {
		return Config{}, errors.Join(strict...)
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Validate reports the first inconsistency in the configuration.
func (c Config) Validate() error {
	accounts := map[string]bool{}
	keys := map[string]bool{}
	for _, a := range c.Accounts {
		if !accountIDPattern.MatchString(a.ID) {
			return fmt.Errorf("account %q: id must be a numeric Alibaba Cloud UID", a.ID)
		}
		if accounts[a.ID] {
			return fmt.Errorf("account %q listed twice", a.ID)
		}
		accounts[a.ID] = true
		for _, k := range a.AccessKeys {
			if err := k.validate(); err != nil {
				return fmt.Errorf("account %q: %w", a.ID, err)
			}
			if keys[k.ID] {
				return fmt.Errorf("access key %q listed twice", k.ID)
			}
			keys[k.ID] = true
		}
	}
	images := map[string]bool{}
	for _, im := range c.Images {
		if err := im.validate(); err != nil {
			return err
		}
		if images[im.Region+"/"+im.ID] {
			return fmt.Errorf("image %q in %s listed twice", im.ID, im.Region)
		}
		images[im.Region+"/"+im.ID] = true
		if !accounts[im.Owner] {
			return fmt.Errorf("image %q: owner %q is not among accounts", im.ID, im.Owner)
		}
		for _, s := range im.SharedWith {
			if !accountIDPattern.MatchString(s) {
				return fmt.Errorf("image %q: shared account %q is not a numeric UID", im.ID, s)
			}
		}
	}
	if err := c.validateIdentities(accounts); err != nil {
		return err
	}
	return c.Faults.Validate()
}

func validStatus(s string) error {
	if s == "" {
		return nil
	}
	for _, v := range ImageStatuses {
		if s == v {
			return nil
		}
	}
	return fmt.Errorf("status %q is not one of %v", s, ImageStatuses)
}

// DemoConfig is the tenant the simulator starts with when given no state:
// one owner account with an AccessKey, two accounts to share with, a shared
// image, an unshared one, a deprecated one, and another tenant's image.
func DemoConfig() Config {
	const owner, other, hangzhou = "1234567890123456", "9999999999999999", "cn-hangzhou"
	return Config{
		Accounts: []Account{
			{ID: owner, AccessKeys: []AccessKey{{ID: "LTAIdemoOwnerKey0001", Secret: "demoOwnerSecret"}}},
			{ID: "2222222222222222"},
			{ID: "3333333333333333"},
			{ID: other, AccessKeys: []AccessKey{{ID: "LTAIdemoOtherKey0001", Secret: "demoOtherSecret"}}},
		},
		Images: []Image{
			{ID: "m-demo0001", Region: hangzhou, Owner: owner, Name: "demo-shared", SharedWith: []string{"2222222222222222"}},
			{ID: "m-demo0002", Region: hangzhou, Owner: owner, Name: "demo-unshared"},
			{ID: "m-demo0003", Region: hangzhou, Owner: owner, Name: "demo-deprecated", Status: "Deprecated"},
			{ID: "m-demo0004", Region: "cn-shanghai", Owner: owner, Name: "demo-shanghai"},
			{ID: "m-foreign01", Region: hangzhou, Owner: other, Name: "another-tenants-image"},
			// Two versions of a golden image family, as a platform team
			// publishes them: examples/namespaced/imagesharing-family.yaml
			// follows it.
			{ID: "m-golden01", Region: hangzhou, Owner: owner, Name: "golden-base-v1", Family: "golden-base",
				CreationTime: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)},
			{ID: "m-golden02", Region: hangzhou, Owner: owner, Name: "golden-base-v2", Family: "golden-base",
				CreationTime: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)},
		},
	}
}
