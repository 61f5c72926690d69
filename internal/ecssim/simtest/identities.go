package simtest

import (
	"time"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim"
)

// The identities world: one set of principals every credentials test
// shares, so that tests of sessions, of the resolver and end to end speak of
// the same accounts, roles and tokens.
//
// A pod of the cluster's account holds an OIDC token (RRSA) for role RRSA;
// that role, or the RAM user Deployer, may assume Hop1 in the same account;
// Hop1 may assume Hop2 in the image owner's account, with ExternalID. The
// instance the provider runs on carries role Node. Owner's image Image and
// the cluster account's ClusterImage are shared with Friend.
const (
	ClusterAccount = "1111111111111111"
	OwnerAccount   = "2222222222222222"
	FriendAccount  = "3333333333333333"
	Region         = "cn-hangzhou"
	Image          = "m-chain0001"
	// ClusterImage is an image of the cluster's account, for principals
	// of that account to look at.
	ClusterImage = "m-cluster0001"
	Issuer       = "https://oidc.example.com/cluster"
	Subject      = "system:serviceaccount:crossplane-system:provider"
	ExternalID   = "ext-0001"
)

// The principals of the identities world.
var (
	// Deployer is a RAM user's AccessKey in the cluster's account.
	Deployer     = ecssim.AccessKey{ID: "LTAIdeployer", Secret: "deployer-secret-must-not-leak", User: "deployer"}
	RRSA         = ecssim.RoleARN(ClusterAccount, "rrsa")
	Hop1         = ecssim.RoleARN(ClusterAccount, "hop1")
	Hop2         = ecssim.RoleARN(OwnerAccount, "hop2")
	Node         = ecssim.RoleARN(ClusterAccount, "node")
	OIDCProvider = ecssim.OIDCProviderARN(ClusterAccount, "ack")
)

// Identities is the simulator state of the identities world. Sessions last
// 15 minutes, so that a test can move a simulator's clock past a refresh
// while the SDK's signatures, dated by the wall clock, stay within the 15
// minutes of skew ECS and STS allow.
func Identities() ecssim.Config {
	return ecssim.Config{
		Accounts: []ecssim.Account{
			{ID: ClusterAccount, AccessKeys: []ecssim.AccessKey{Deployer}},
			{ID: OwnerAccount}, {ID: FriendAccount},
		},
		Roles: []ecssim.Role{
			{Account: ClusterAccount, Name: "rrsa", TrustedOIDC: &ecssim.OIDCTrust{Provider: OIDCProvider, Subjects: []string{Subject}}},
			{Account: ClusterAccount, Name: "hop1", TrustedRoles: []string{RRSA}, TrustedAccounts: []string{ClusterAccount}},
			{Account: OwnerAccount, Name: "hop2", TrustedRoles: []string{Hop1}, ExternalID: ExternalID},
			{Account: ClusterAccount, Name: "node", TrustedServices: []string{"ecs.aliyuncs.com"}},
		},
		OIDCProviders: []ecssim.OIDCProvider{{Account: ClusterAccount, Name: "ack", Issuer: Issuer}},
		Instance:      &ecssim.Instance{RoleARN: Node},
		Images: []ecssim.Image{
			{ID: Image, Region: Region, Owner: OwnerAccount, SharedWith: []string{FriendAccount}},
			{ID: ClusterImage, Region: Region, Owner: ClusterAccount, SharedWith: []string{FriendAccount}},
		},
		STS: ecssim.STSOptions{SessionLifetime: ecssim.Duration{Duration: 15 * time.Minute}},
	}
}
