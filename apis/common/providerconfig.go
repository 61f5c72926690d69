package common

import (
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Credential sources beyond crossplane-runtime's Secret, Environment and
// Filesystem. Both are identities of the provider's pod, so only
// configurations a cluster administrator writes may use them.
const (
	// CredentialsSourceRRSA exchanges the pod's projected service account
	// token for a RAM role's STS credentials (ACK's RAM Roles for Service
	// Accounts, AssumeRoleWithOIDC).
	CredentialsSourceRRSA xpv2.CredentialsSource = "RRSA"
	// CredentialsSourceECSRole takes the RAM role of the ECS instance the
	// provider runs on, from the instance metadata service.
	CredentialsSourceECSRole xpv2.CredentialsSource = "ECSRole"
)

// ProviderConfigSpec says how to reach ECS: with which credentials, at which
// endpoint, within which timeouts. Every provider configuration kind, in
// either scope, shares it.
// +kubebuilder:validation:XValidation:rule="!has(self.endpoint) || !self.endpoint.startsWith('http://') || self.endpoint.matches('^http://(localhost|127[.][0-9]{1,3}[.][0-9]{1,3}[.][0-9]{1,3}|[[]::1[]])(:[0-9]+)?/?$') || (has(self.allowPlainHTTP) && self.allowPlainHTTP)",message="endpoint uses plain http to a host that is not loopback, which would send requests and STS tokens in clear: use https, or set allowPlainHTTP: true if the network is trusted"
// +kubebuilder:validation:XValidation:rule="!has(self.stsEndpoint) || !self.stsEndpoint.startsWith('http://') || self.stsEndpoint.matches('^http://(localhost|127[.][0-9]{1,3}[.][0-9]{1,3}[.][0-9]{1,3}|[[]::1[]])(:[0-9]+)?/?$') || (has(self.allowPlainHTTP) && self.allowPlainHTTP)",message="stsEndpoint uses plain http to a host that is not loopback, which would send signed requests and issued credentials in clear: use https, or set allowPlainHTTP: true if the network is trusted"
// +kubebuilder:validation:XValidation:rule="!has(self.tls) || (!has(self.endpoint) || self.endpoint.startsWith('https://')) && (!has(self.stsEndpoint) || self.stsEndpoint.startsWith('https://'))",message="tls applies only to https endpoints: remove tls or use https:// for endpoint and stsEndpoint"
type ProviderConfigSpec struct {
	// Credentials say where the provider's identity comes from. With an
	// assumeRoleChain they are the first signer of the chain; without, they
	// call ECS themselves and need ecs:DescribeImageSharePermission and
	// ecs:ModifyImageSharePermission on the images to share.
	Credentials ProviderCredentials `json:"credentials"`

	// AssumeRoleChain is a list of RAM roles to assume in order, each with
	// the credentials the one before yields (the first with the
	// credentials above), e.g. to act in another account. The last role's
	// credentials call ECS. Sessions are cached and renewed before they
	// expire.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=5
	AssumeRoleChain []AssumeRoleHop `json:"assumeRoleChain,omitempty"`

	// Endpoint overrides the ECS endpoint, as a URL with scheme and host, such
	// as https://ecs-vpc.cn-hangzhou.aliyuncs.com (a VPC endpoint) or
	// http://127.0.0.1:8080 (a local ECS simulator). When empty, the public
	// endpoint of each resource's region is used. Plain http sends requests,
	// and any STS security token, in clear: it is accepted only for a
	// loopback host (localhost, 127.0.0.0/8, [::1]) unless allowPlainHTTP is
	// set.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self.matches('^https?://[^/?#@ ]+/?$')",message="endpoint must be a URL with an http or https scheme and a host, and nothing else, e.g. https://ecs-vpc.cn-hangzhou.aliyuncs.com"
	Endpoint *string `json:"endpoint,omitempty"`

	// STSEndpoint overrides the STS endpoint that RRSA and assumeRoleChain
	// call, as a URL such as https://sts-vpc.cn-hangzhou.aliyuncs.com (a VPC
	// endpoint). When empty: for source RRSA, the ALIBABA_CLOUD_STS_ENDPOINT
	// the ACK pod identity webhook injects, if any; otherwise
	// https://sts.aliyuncs.com. The same plain-http rules as endpoint apply.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self.matches('^https?://[^/?#@ ]+/?$')",message="stsEndpoint must be a URL with an http or https scheme and a host, and nothing else, e.g. https://sts-vpc.cn-hangzhou.aliyuncs.com"
	STSEndpoint *string `json:"stsEndpoint,omitempty"`

	// AllowPlainHTTP permits an http:// endpoint or stsEndpoint whose host is
	// not loopback. Requests, and any STS security token, then cross the
	// network in clear, readable and alterable by anyone on the path: set it
	// only for a network you trust entirely, such as a test cluster's.
	// +optional
	AllowPlainHTTP bool `json:"allowPlainHTTP,omitempty"`

	// TLS verifies the ECS and STS endpoints against a private certificate
	// authority, e.g. for a private endpoint or a TLS-inspecting proxy.
	// +optional
	TLS *TLS `json:"tls,omitempty"`

	// Timeouts bound every ECS and STS call.
	// +optional
	Timeouts *Timeouts `json:"timeouts,omitempty"`
}

// TLS configures how the endpoints' certificates are verified. They are
// always verified: there is no way to skip verification.
type TLS struct {
	// CABundleSecretRef is a key of a Secret that holds the PEM certificates
	// of the authorities that sign the endpoints' certificates. They replace
	// the system's roots for this configuration's calls. A namespaced
	// ProviderConfig may only use a Secret in its own namespace.
	CABundleSecretRef xpv2.SecretKeySelector `json:"caBundleSecretRef"`
}

// Timeouts of ECS and STS calls. They are bounded, so that an endpoint
// that never answers cannot hold the provider's shared workers for long.
// +kubebuilder:validation:XValidation:rule="!has(self.connect) || (duration(self.connect) > duration('0s') && duration(self.connect) <= duration('30s'))",message="timeouts.connect must be more than 0s and at most 30s"
// +kubebuilder:validation:XValidation:rule="!has(self.read) || (duration(self.read) > duration('0s') && duration(self.read) <= duration('60s'))",message="timeouts.read must be more than 0s and at most 60s"
type Timeouts struct {
	// Connect bounds establishing a connection and its TLS handshake.
	// Defaults to 5s; at most 30s.
	// +optional
	Connect *metav1.Duration `json:"connect,omitempty"`
	// Read bounds the wait for the answer; a whole call is bounded by
	// connect and read together. Defaults to 20s for ECS and 10s for STS;
	// at most 60s.
	// +optional
	Read *metav1.Duration `json:"read,omitempty"`
}

// ProviderCredentials say where the provider's identity comes from.
//
// Secret, Environment and Filesystem hold a JSON credentials document:
// {"accessKeyId": "...", "accessKeySecret": "...", "securityToken": "..."}
// (securityToken only for STS credentials). The keys
// provider-upjet-alibabacloud uses, access_key, secret_key and
// security_token, are accepted too. RRSA and ECSRole hold no key at all:
// they obtain short-lived STS credentials and renew them.
// +kubebuilder:validation:XValidation:rule="self.source != 'Secret' || has(self.secretRef)",message="credentials.secretRef is required when the source is Secret"
// +kubebuilder:validation:XValidation:rule="self.source != 'Environment' || has(self.env)",message="credentials.env is required when the source is Environment"
// +kubebuilder:validation:XValidation:rule="self.source != 'Filesystem' || has(self.fs)",message="credentials.fs is required when the source is Filesystem"
// +kubebuilder:validation:XValidation:rule="!has(self.rrsa) || self.source == 'RRSA'",message="credentials.rrsa applies only to source RRSA: remove it or set source: RRSA"
// +kubebuilder:validation:XValidation:rule="!has(self.ecsRole) || self.source == 'ECSRole'",message="credentials.ecsRole applies only to source ECSRole: remove it or set source: ECSRole"
type ProviderCredentials struct {
	// Source of the credentials: a credentials document in a Secret, an
	// environment variable or a file of the provider; RRSA, the provider
	// pod's RAM role for service accounts; or ECSRole, the RAM role of the
	// ECS instance the provider runs on.
	// +kubebuilder:validation:Enum=Secret;Environment;Filesystem;RRSA;ECSRole
	Source xpv2.CredentialsSource `json:"source"`

	xpv2.CommonCredentialSelectors `json:",inline"`

	// RRSA tunes source RRSA. Every field defaults to what ACK's pod
	// identity webhook injects into the provider's pod.
	// +optional
	RRSA *RRSACredentials `json:"rrsa,omitempty"`

	// ECSRole tunes source ECSRole.
	// +optional
	ECSRole *ECSRoleCredentials `json:"ecsRole,omitempty"`
}

// RRSACredentials exchange the provider pod's projected service account
// token (audience sts.aliyuncs.com) for a RAM role's STS credentials with
// AssumeRoleWithOIDC. The token file is read again at every exchange,
// because the kubelet rotates it.
type RRSACredentials struct {
	// RoleARN of the RAM role to assume, acs:ram::<account>:role/<name>.
	// Defaults to the pod's ALIBABA_CLOUD_ROLE_ARN.
	// +optional
	// +kubebuilder:validation:Pattern=`^acs:ram::[0-9]{1,20}:role/[A-Za-z0-9._-]{1,64}$`
	RoleARN *string `json:"roleARN,omitempty"`

	// OIDCProviderARN of the cluster's OIDC identity provider in RAM,
	// acs:ram::<account>:oidc-provider/<name>. Defaults to the pod's
	// ALIBABA_CLOUD_OIDC_PROVIDER_ARN.
	// +optional
	// +kubebuilder:validation:Pattern=`^acs:ram::[0-9]{1,20}:oidc-provider/[A-Za-z0-9._-]{1,128}$`
	OIDCProviderARN *string `json:"oidcProviderARN,omitempty"`

	// OIDCTokenFile is the absolute path of the projected token in the
	// provider's filesystem. Defaults to the pod's
	// ALIBABA_CLOUD_OIDC_TOKEN_FILE.
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	// +kubebuilder:validation:Pattern=`^/`
	OIDCTokenFile *string `json:"oidcTokenFile,omitempty"`

	// SessionName names the role session in ActionTrail. Defaults to
	// crossplane-provider-alibabacloud-ecs.
	// +optional
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9.@_-]{2,64}$`
	SessionName *string `json:"sessionName,omitempty"`

	// DurationSeconds is how long each session lasts, 900 to the role's
	// maximum session duration (at most 43200). Defaults to 3600.
	// +optional
	// +kubebuilder:validation:Minimum=900
	// +kubebuilder:validation:Maximum=43200
	DurationSeconds *int32 `json:"durationSeconds,omitempty"`
}

// ECSRoleCredentials take the RAM role attached to the ECS instance the
// provider runs on, from the instance metadata service (IMDSv2: a session
// token first, always).
type ECSRoleCredentials struct {
	// RoleName of the instance's RAM role. When empty the metadata service
	// is asked which role the instance has.
	// +optional
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9._-]{1,64}$`
	RoleName *string `json:"roleName,omitempty"`
}

// AssumeRoleHop is one AssumeRole call of a chain.
type AssumeRoleHop struct {
	// RoleARN of the RAM role to assume, acs:ram::<account>:role/<name>. Its
	// trust policy must name the identity of the hop before (the account,
	// RAM user or role), which also needs AliyunSTSAssumeRoleAccess.
	// +kubebuilder:validation:Pattern=`^acs:ram::[0-9]{1,20}:role/[A-Za-z0-9._-]{1,64}$`
	RoleARN string `json:"roleARN"`

	// ExternalID the role's trust policy demands (sts:ExternalId), which
	// keeps a third party from being tricked into acting for another.
	// +optional
	// +kubebuilder:validation:MinLength=2
	// +kubebuilder:validation:MaxLength=1224
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9_+=,.@:/-]+$`
	ExternalID *string `json:"externalID,omitempty"`

	// SessionName names the role session in ActionTrail. Defaults to
	// crossplane-provider-alibabacloud-ecs.
	// +optional
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9.@_-]{2,64}$`
	SessionName *string `json:"sessionName,omitempty"`

	// DurationSeconds is how long each session lasts, 900 to the role's
	// maximum session duration (at most 43200). Defaults to 3600.
	// +optional
	// +kubebuilder:validation:Minimum=900
	// +kubebuilder:validation:Maximum=43200
	DurationSeconds *int32 `json:"durationSeconds,omitempty"`

	// Policy is a RAM policy document (JSON) that narrows what the session
	// may do below what the role allows.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	Policy *string `json:"policy,omitempty"`
}

// A ProviderConfigStatus is the observed state of a provider configuration.
type ProviderConfigStatus struct {
	xpv2.ProviderConfigStatus `json:",inline"`

	// Identity is who this configuration's credentials act as, as STS
	// GetCallerIdentity last reported it.
	// +optional
	Identity *Identity `json:"identity,omitempty"`
}

// Identity is an Alibaba Cloud principal.
type Identity struct {
	// Type is Account, RAMUser or AssumedRoleUser.
	Type string `json:"type,omitempty"`
	// AccountID is the account the principal belongs to.
	AccountID string `json:"accountId,omitempty"`
	// ARN of the principal, e.g.
	// acs:ram::1234567890123456:assumed-role/image-sharer/crossplane.
	ARN string `json:"arn,omitempty"`
	// PrincipalID is STS's stable ID of the principal.
	PrincipalID string `json:"principalId,omitempty"`
	// VerifiedAt is when STS last confirmed the identity.
	VerifiedAt *metav1.Time `json:"verifiedAt,omitempty"`
}
