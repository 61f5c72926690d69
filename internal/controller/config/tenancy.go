package config

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	alibabacloudv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/namespaced/alibabacloud/v1beta1"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/alisdk"
)

// maxSelectorText bounds how much of a selector, or of what is wrong with
// it, a refusal quotes. The CRD does not bound a selector's size, and the
// message lands in the resource's conditions and events, which the API
// server and every reader of them hold.
const maxSelectorText = 200

// namespaceReadTimeout bounds reading a namespace. The manager's client
// reads namespaces from a cache, and a cache whose informer cannot list
// them (the provider lacks the permission) does not fail the read: it
// blocks it until its context ends, which would hold a worker for as long
// as the whole reconcile may take.
const namespaceReadTimeout = 10 * time.Second

// admitted refuses a ClusterProviderConfig to a managed resource in a
// namespace that its spec.namespaceSelector does not select. A
// ClusterProviderConfig holds credentials an administrator chose; without a
// selector any tenant could act with them (share the operator's images, or
// unshare shares it did not make), so an administrator can name the tenants
// that may. It is checked on every resolve, so relabelling a namespace
// takes effect at each resource's next reconcile.
func (r *Resolver) admitted(ctx context.Context, cpc *alibabacloudv1beta1.ClusterProviderConfig, namespace string) error {
	sel := cpc.Spec.NamespaceSelector
	if sel == nil {
		// No selector admits every namespace, as every ClusterProviderConfig
		// did before the field existed: a new field must not stop existing
		// resources.
		return nil
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return fmt.Errorf("ClusterProviderConfig %q has an invalid spec.namespaceSelector (%s): %s; ask the cluster administrator to fix it",
			cpc.Name, renderSelector(sel), bounded(err.Error()))
	}
	if s.Empty() {
		// {} selects every namespace, as it does everywhere in Kubernetes.
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, namespaceReadTimeout)
	defer cancel()
	ns := &corev1.Namespace{}
	err = r.kube.Get(ctx, types.NamespacedName{Name: namespace}, ns)
	switch {
	case kerrors.IsNotFound(err):
		return fmt.Errorf("ClusterProviderConfig %q does not admit namespace %q: the namespace was not found, so its labels cannot match spec.namespaceSelector (%s); if it was just created, the next attempt will see it",
			cpc.Name, namespace, renderSelector(sel))
	case err != nil:
		return fmt.Errorf("cannot read namespace %q to check it against ClusterProviderConfig %q's spec.namespaceSelector: %w; "+
			"the provider's service account needs get, list and watch on namespaces, which Crossplane does not grant providers: bind it a ClusterRole that does (docs/multi-tenancy.md)",
			namespace, cpc.Name, err)
	}
	if !s.Matches(labels.Set(ns.Labels)) {
		return fmt.Errorf("ClusterProviderConfig %q does not admit namespace %q: its spec.namespaceSelector (%s) does not match the namespace's labels; "+
			"ask the cluster administrator to label the namespace or to widen the selector, or use a ProviderConfig in %s",
			cpc.Name, namespace, renderSelector(sel), namespace)
	}
	return nil
}

// renderSelector writes a selector as the CRD spells it, e.g.
// "matchLabels team=a; matchExpressions tier In (gold,silver)", in a stable
// order and at most maxSelectorText long.
func renderSelector(sel *metav1.LabelSelector) string {
	var parts []string
	if len(sel.MatchLabels) > 0 {
		kv := make([]string, 0, len(sel.MatchLabels))
		for _, k := range slices.Sorted(maps.Keys(sel.MatchLabels)) {
			kv = append(kv, k+"="+sel.MatchLabels[k])
		}
		parts = append(parts, "matchLabels "+strings.Join(kv, ","))
	}
	if len(sel.MatchExpressions) > 0 {
		exprs := make([]string, 0, len(sel.MatchExpressions))
		for _, e := range sel.MatchExpressions {
			x := e.Key + " " + string(e.Operator)
			if len(e.Values) > 0 {
				x += " (" + strings.Join(e.Values, ",") + ")"
			}
			exprs = append(exprs, x)
		}
		parts = append(parts, "matchExpressions "+strings.Join(exprs, ", "))
	}
	if len(parts) == 0 {
		return "{}"
	}
	return bounded(strings.Join(parts, "; "))
}

// bounded cuts s to maxSelectorText bytes as alisdk.Clip does. Selector
// keys and values are not validated by the CRD, so they are quoted when
// they hold anything a terminal would act on.
func bounded(s string) string {
	if strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		s = strings.Trim(fmt.Sprintf("%q", s), `"`)
	}
	return alisdk.Clip(s, maxSelectorText)
}
