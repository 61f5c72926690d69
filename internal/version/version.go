// Package version holds the provider's version, stamped at build time by
// `make build` (-ldflags -X) from git or the VERSION variable.
package version

// Version of the provider.
var Version = "v0.0.0-dev"
