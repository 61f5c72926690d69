// Package crossplane pins the two Crossplane programs the project runs:
//
//   - the crossplane CLI (github.com/crossplane/cli/v2), which builds,
//     pushes and validates packages and renders compositions;
//   - Crossplane core (github.com/crossplane/crossplane/v2), which the CLI
//     runs as `crossplane internal render` (without Docker it must be a
//     local build), and which test/crossplane and make dev-crossplane run as
//     Crossplane itself. Its module also holds Crossplane's CRDs
//     (cluster/crds), so the examples validate offline.
//
// One module pins both, so that they build against one set of dependencies
// and the second build reuses almost everything the first compiled; its own
// module keeps Crossplane's dependencies out of the provider's go.mod.
package crossplane
