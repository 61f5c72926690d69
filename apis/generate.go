// Generation order matters: deepcopy first, because angryjet type-checks the
// packages it loads; CRDs last.

//go:generate rm -rf ../package/crds
//go:generate go tool controller-gen object:headerFile=../hack/boilerplate.go.txt paths=./...
//go:generate go tool angryjet generate-methodsets --header-file=../hack/boilerplate.go.txt ./...
//go:generate go tool controller-gen crd:crdVersions=v1 paths=./... output:artifacts:config=../package/crds

package apis
