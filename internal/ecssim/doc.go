// Package ecssim is a local Alibaba Cloud ECS endpoint for the image-sharing
// API (version 2014-05-26). It speaks the real wire protocol — ACS3-HMAC-SHA256
// and the older RPC HMAC-SHA1 signatures, the JSON error bodies and HTTP
// statuses ECS uses — so that unmodified Alibaba Cloud SDKs cannot tell it
// from the real service.
//
// It serves three ECS actions (DescribeImageSharePermission,
// ModifyImageSharePermission and DescribeImages) over multi-tenant state:
// accounts with AccessKeys and STS tokens, and images per region owned by an
// account. Every call acts as the caller's account.
//
// Fault shaping (latency, rate limits, injected 5xx, visibility lag) is
// optional and seeded so runs are reproducible. A control API under
// ControlPrefix lets tests and operators change state out of band, read call
// counters and reset; the counters are also exported as Prometheus metrics.
//
// Behaviour the public ECS documentation leaves open is chosen here and
// written down next to the code that implements it; the package README-level
// summary lives in the project README.
package ecssim
