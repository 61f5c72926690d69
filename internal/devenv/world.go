package devenv

import "github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim"

// The dev world's partner: an account whose images the demo owner's RAM
// user may share only by assuming the partner's role, as
// examples/namespaced/providerconfig-assumerole.yaml does.
const (
	// PartnerAccount owns the partner's role and image; it has no
	// AccessKey of its own in the simulator.
	PartnerAccount = "4444444444444444"
	// PartnerRole is the role the partner lets the demo owner assume.
	PartnerRole = "image-sharer"
	// PartnerExternalID is what the partner's trust policy demands
	// (sts:ExternalId): the example must send exactly this.
	PartnerExternalID = "crossplane-dev-0001"
	// PartnerImage is the partner's image, in cn-hangzhou.
	PartnerImage = "m-partner01"

	// demoOwner is the account of ecssim.DemoConfig's AccessKey
	// LTAIdemoOwnerKey0001, the key of examples/secret.yaml.
	demoOwner = "1234567890123456"
)

// PartnerRoleARN is the ARN examples/namespaced/providerconfig-assumerole.yaml
// names.
func PartnerRoleARN() string { return ecssim.RoleARN(PartnerAccount, PartnerRole) }

// DevWorld is the simulator's demo tenant plus a partner account with a role
// that trusts the demo owner's account when it sends the partner's
// ExternalId, and an image only that role's sessions can share: what
// `make dev` serves and the e2e suite builds on, so that the assume-role
// example works against both.
func DevWorld() ecssim.Config {
	cfg := ecssim.DemoConfig()
	cfg.Accounts = append(cfg.Accounts, ecssim.Account{ID: PartnerAccount})
	cfg.Roles = append(cfg.Roles, ecssim.Role{
		Account:         PartnerAccount,
		Name:            PartnerRole,
		TrustedAccounts: []string{demoOwner},
		ExternalID:      PartnerExternalID,
		// docs/credentials.md's RAM policy: image sharing and nothing else.
		AllowedActions: []string{"DescribeImageSharePermission", "ModifyImageSharePermission", "DescribeImages"},
	})
	cfg.Images = append(cfg.Images, ecssim.Image{ID: PartnerImage, Region: "cn-hangzhou", Owner: PartnerAccount, Name: "partner-image"})
	return cfg
}
