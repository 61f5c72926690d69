// Package golangcilint pins golangci-lint, which `make lint` runs. Its own
// module keeps the linters' dependencies out of the provider's go.mod, and
// building it from the module proxy means no prebuilt binary is downloaded.
package golangcilint
