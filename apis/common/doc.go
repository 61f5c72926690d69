// Package common holds the API types both scopes share: the provider
// configuration's spec and status, and an ImageSharePermission's parameters
// and observation. It is no API group of its own; the namespaced and
// cluster-scoped groups under apis/namespaced and apis/cluster embed these
// types, so the two scopes can never drift apart.
// +kubebuilder:object:generate=true
package common
