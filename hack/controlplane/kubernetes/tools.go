//go:build tools

// Package tools pins the Kubernetes commands the tests and `make dev` run:
// kube-apiserver, kube-controller-manager (for its garbage collector) and
// kubectl, built from the Go module proxy because no
// prebuilt binary can be downloaded here. Its own module keeps Kubernetes'
// dependency tree out of the provider's go.mod.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
