// Package crossplane pins the crossplane CLI, which builds and validates the
// provider's package and renders compositions. Its own module keeps the
// CLI's dependencies out of the provider's go.mod.
package crossplane
