//go:build tools

// Package tools pins etcd, the store kube-apiserver needs, built from the Go
// module proxy. Kubernetes 1.35 supports etcd 3.6.
package tools

import _ "go.etcd.io/etcd/server/v3"
