package ecsclients

import (
	"errors"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/ecs"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/controller/requeue"
)

// object is what names a resource's reconcile request.
type object interface {
	GetNamespace() string
	GetName() string
}

// Succeeded tells rep that o's ECS calls went through; a nil rep is told
// nothing.
func Succeeded(rep requeue.Reporter, o object) {
	_ = requeue.Report(rep, request(o), nil, false)
}

// Failed tells rep that o's ECS calls failed with err, and returns err,
// bounded for a condition; when ECS throttled any of them it says when o
// tries again.
func Failed(rep requeue.Reporter, o object, err error) error {
	return Bounded(requeue.Report(rep, request(o), err, anyThrottled(err)))
}

// anyThrottled reports whether ECS throttled any of the calls err joins:
// ecs.IsThrottled looks at the first ECS error only.
func anyThrottled(err error) bool {
	if ecs.IsThrottled(err) {
		return true
	}
	var joined interface{ Unwrap() []error }
	if errors.As(err, &joined) {
		for _, err := range joined.Unwrap() {
			if anyThrottled(err) {
				return true
			}
		}
	}
	return false
}

func request(o object) reconcile.Request {
	return reconcile.Request{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace(), Name: o.GetName()}}
}
