// Package controller sets up every controller of the provider.
package controller

import (
	"github.com/crossplane/crossplane-runtime/v2/pkg/controller"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/controller/config"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/controller/imagesharepermission"
)

// Setup adds every controller to the manager. They share one resolver, so
// that a configuration's STS sessions serve all of its resources and its
// identity check.
func Setup(mgr ctrl.Manager, o controller.Options, e imagesharepermission.ECSOptions, c config.CredentialOptions) error {
	r := config.NewResolver(mgr.GetClient(), c)
	if err := config.Setup(mgr, o, r); err != nil {
		return err
	}
	return imagesharepermission.Setup(mgr, o, e, r)
}

// SetupGated adds every controller behind the safe-start gate.
func SetupGated(mgr ctrl.Manager, o controller.Options, e imagesharepermission.ECSOptions, c config.CredentialOptions) error {
	r := config.NewResolver(mgr.GetClient(), c)
	if err := config.SetupGated(mgr, o, r); err != nil {
		return err
	}
	return imagesharepermission.SetupGated(mgr, o, e, r)
}
