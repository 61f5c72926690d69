// Package ecssim is a local Alibaba Cloud ECS endpoint for the image-sharing
// API (version 2014-05-26), with the STS API (2015-04-01) and the ECS
// instance metadata service beside it so that credentials without long-lived
// keys can be exercised end to end. It speaks the real wire protocol —
// ACS3-HMAC-SHA256 and the older RPC HMAC-SHA1 signatures, the JSON error
// bodies and HTTP statuses ECS and STS use — so that unmodified Alibaba
// Cloud SDKs cannot tell it from the real services.
//
// It serves four ECS actions (DescribeImageSharePermission,
// ModifyImageSharePermission, DescribeImages and DescribeImageFromFamily)
// over multi-tenant state: accounts with AccessKeys and STS tokens, and
// images per region owned by an account, which may be versions of an image
// family and may be encrypted. Every call acts as the caller's account.
//
// STS serves AssumeRole (RAM users and role sessions, so chains, of trusted
// accounts or roles; ExternalId), AssumeRoleWithOIDC (RS256 tokens the
// simulator mints itself as each OIDC provider, as an ACK cluster's RRSA
// issuer would) and GetCallerIdentity. Every session it issues is an STS key
// on the role's account that ECS honours until it expires or is revoked.
// The metadata surface (/latest/...) hands out sessions of the Instance's
// role to IMDSv2 clients only.
//
// Fault shaping (latency, rate limits, injected 5xx, visibility lag) is
// optional and seeded so runs are reproducible; only per-action rate limits
// reach STS. A control API under ControlPrefix lets tests and operators
// change state out of band, mint OIDC tokens, read call counters and reset;
// the counters are also exported as Prometheus metrics.
//
// Behaviour the public documentation leaves open is chosen here and written
// down next to the code that implements it; cmd/ecs-simulator/README.md
// describes it for its users: what it serves, the state file, the control API.
package ecssim
