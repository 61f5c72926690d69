// Package controller sets up every controller of the provider.
package controller

import (
	"github.com/crossplane/crossplane-runtime/v2/pkg/controller"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/controller/config"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/controller/ecsclients"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/controller/imagesharepermission"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/controller/imagesharing"
)

// Setup adds every controller to the manager. They share one resolver, so
// that a configuration's STS sessions serve all of its resources and its
// identity check, and one set of ECS clients, so that every kind's calls
// of one image share listings, batches and the account's pace.
func Setup(mgr ctrl.Manager, o controller.Options, e ecsclients.Options, c config.CredentialOptions) error {
	r := config.NewResolver(mgr.GetClient(), c)
	if err := config.Setup(mgr, o, r); err != nil {
		return err
	}
	clients := ecsclients.New(e, o.PollInterval)
	if err := imagesharepermission.Setup(mgr, o, clients, r); err != nil {
		return err
	}
	return imagesharing.Setup(mgr, o, clients, r)
}

// SetupGated adds every controller behind the safe-start gate.
func SetupGated(mgr ctrl.Manager, o controller.Options, e ecsclients.Options, c config.CredentialOptions) error {
	r := config.NewResolver(mgr.GetClient(), c)
	if err := config.SetupGated(mgr, o, r); err != nil {
		return err
	}
	clients := ecsclients.New(e, o.PollInterval)
	if err := imagesharepermission.SetupGated(mgr, o, clients, r); err != nil {
		return err
	}
	return imagesharing.SetupGated(mgr, o, clients, r)
}
