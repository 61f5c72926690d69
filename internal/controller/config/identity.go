package config

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/pkg/logging"
	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	corev1 "k8s.io/api/core/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	clusterv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/cluster/alibabacloud/v1beta1"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/common"
	alibabacloudv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/namespaced/alibabacloud/v1beta1"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/alisdk"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/credentials"
)

// ConditionAuthenticated says whether a configuration's credentials work,
// and its message who they act as or what to fix.
const ConditionAuthenticated xpv2.ConditionType = "Authenticated"

const (
	reasonVerified xpv2.ConditionReason = "IdentityVerified"
	reasonFailed   xpv2.ConditionReason = "AuthenticationFailed"
)

// How often a configuration's identity is asked again: it can change
// without the configuration changing (a rotated Secret, a role's trust
// policy), and a failure should be seen to heal. GetCallerIdentity needs no
// RAM permission and STS sessions are shared, so it costs one call.
const (
	recheckVerified = 10 * time.Minute
	recheckFailed   = time.Minute
	identityTimeout = time.Minute
	// maxMessage bounds the Authenticated condition's message, whatever an
	// endpoint answered.
	maxMessage = 1024
)

// Identity asks STS who a configuration's credentials act as, through the
// same resolution, credential source and sessions its managed resources
// use. The account it proves becomes the budget its resources' ECS calls
// are paced by.
func (r *Resolver) Identity(ctx context.Context, gvk schema.GroupVersionKind, pc client.Object, spec common.ProviderConfigSpec) (credentials.Identity, error) {
	// The region only matters to ECS, which is not called.
	_, built, err := r.resolve(ctx, gvk, pc, spec, "")
	if err != nil {
		return credentials.Identity{}, err
	}
	return built.Identity(ctx)
}

// identityReconciler runs crossplane-runtime's ProviderConfig reconciler,
// which counts users and guards deletion, then reports in the
// configuration's status who its credentials act as.
type identityReconciler struct {
	usage    reconcile.Reconciler
	kube     client.Client
	resolver *Resolver
	gvk      schema.GroupVersionKind
	newObj   func() client.Object
	log      logging.Logger

	mu sync.Mutex
	// checked remembers each configuration's last check, so that the many
	// usage events of a busy configuration do not each call STS.
	checked map[reconcile.Request]check
}

type check struct {
	generation int64
	next       time.Time
}

func (r *identityReconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	res, err := r.usage.Reconcile(ctx, req)
	if err != nil {
		return res, err
	}
	after, err := r.verify(ctx, req)
	if err != nil {
		return reconcile.Result{}, err
	}
	if after > 0 && (res.RequeueAfter == 0 || after < res.RequeueAfter) {
		res.RequeueAfter = after
	}
	return res, nil
}

// verify checks the identity when the configuration changed or its check is
// due, and returns when the next is due.
func (r *identityReconciler) verify(ctx context.Context, req reconcile.Request) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, identityTimeout)
	defer cancel()
	obj := r.newObj()
	if err := r.kube.Get(ctx, req.NamespacedName, obj); err != nil {
		return 0, client.IgnoreNotFound(err)
	}
	if meta.WasDeleted(obj) {
		return 0, nil
	}
	now := time.Now()
	r.mu.Lock()
	last, seen := r.checked[req]
	r.mu.Unlock()
	if seen && last.generation == obj.GetGeneration() && now.Before(last.next) {
		return last.next.Sub(now), nil
	}

	spec, status := parts(obj)
	id, err := r.resolver.Identity(ctx, r.gvk, obj, *spec)
	wait := jitter(recheckVerified)
	if err != nil {
		wait = jitter(recheckFailed)
		r.log.Debug("Cannot verify the configuration's identity", "request", req, "error", err)
		status.SetConditions(xpv2.Condition{Type: ConditionAuthenticated, Status: corev1.ConditionFalse,
			Reason: reasonFailed, Message: alisdk.Clip(err.Error(), maxMessage), LastTransitionTime: metav1.Now()})
	} else {
		at := metav1.NewTime(now)
		status.Identity = &common.Identity{Type: id.Type, AccountID: id.AccountID, ARN: id.ARN, PrincipalID: id.PrincipalID, VerifiedAt: &at}
		status.SetConditions(xpv2.Condition{Type: ConditionAuthenticated, Status: corev1.ConditionTrue,
			Reason: reasonVerified, Message: fmt.Sprintf("The credentials act as %s (%s of account %s).", id.ARN, id.Type, id.AccountID),
			LastTransitionTime: metav1.Now()})
	}
	if err := r.kube.Status().Update(ctx, obj); err != nil {
		if kerrors.IsConflict(err) || kerrors.IsNotFound(err) {
			// Someone wrote first, or it is gone: the watch brings us back.
			return 0, nil
		}
		return 0, fmt.Errorf("cannot record the configuration's identity: %w", err)
	}
	r.mu.Lock()
	r.checked[req] = check{generation: obj.GetGeneration(), next: now.Add(wait)}
	r.mu.Unlock()
	return wait, nil
}

// parts returns the spec and status every configuration kind shares.
func parts(obj client.Object) (*common.ProviderConfigSpec, *common.ProviderConfigStatus) {
	switch pc := obj.(type) {
	case *alibabacloudv1beta1.ProviderConfig:
		return &pc.Spec, &pc.Status
	case *alibabacloudv1beta1.ClusterProviderConfig:
		return &pc.Spec.ProviderConfigSpec, &pc.Status
	case *clusterv1beta1.ProviderConfig:
		return &pc.Spec, &pc.Status
	}
	panic(fmt.Sprintf("%T is not a provider configuration kind", obj))
}

// jitter spreads d by ±10%, so that configurations created together are not
// checked together for ever after.
func jitter(d time.Duration) time.Duration {
	return d + time.Duration((rand.Float64()*0.2-0.1)*float64(d)) //nolint:gosec // Spreading work needs no secure randomness.
}
