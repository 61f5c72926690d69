// Package crossplanecore pins Crossplane itself. The crossplane CLI renders a
// composition by running Crossplane's own reconciler, as `crossplane internal
// render` of this binary; without Docker it must be a local build. The
// module also holds Crossplane's CRDs (cluster/crds), so the examples'
// Composition, XRD and Function validate offline. Its own module keeps
// Crossplane's dependencies out of the provider's go.mod.
package crossplanecore
