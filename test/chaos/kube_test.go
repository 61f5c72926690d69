package chaos

import (
	"context"
	"fmt"
	"testing"
	"time"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	corev1 "k8s.io/api/core/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterpcv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/cluster/alibabacloud/v1beta1"
	clusterecsv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/cluster/ecs/v1beta1"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/common"
	pcv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/namespaced/alibabacloud/v1beta1"
	ecsv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/namespaced/ecs/v1beta1"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/devenv"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim"
)

// newKube is a client for hundreds of objects: kubectl would spend minutes
// starting processes, and client-go's default 5 requests a second would
// too.
// startSim serves a simulator seeded with simCfg for the length of the
// test and returns it with a client of the control plane.
func startSim(t *testing.T, simCfg ecssim.Config, opts ...ecssim.Option) (*devenv.Simulator, client.Client) {
	t.Helper()
	sim, err := devenv.StartSimulator(simCfg, "127.0.0.1:0", opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Stop() })
	kube, err := newKube()
	if err != nil {
		t.Fatal(err)
	}
	return sim, kube
}

func newKube() (client.Client, error) {
	scheme, err := devenv.Scheme()
	if err != nil {
		return nil, err
	}
	return client.New(cp.RESTConfig(200, 400, 20*time.Second), client.Options{Scheme: scheme})
}

// retry runs fn until it succeeds, for up to two minutes: the API server
// may be restarting. Each wait is bounded and so is their number.
func retry(ctx context.Context, what string, fn func(context.Context) error) error {
	deadline := time.Now().Add(2 * time.Minute)
	wait := 200 * time.Millisecond
	for {
		err := fn(ctx)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) || kerrors.IsInvalid(err) || kerrors.IsForbidden(err) {
			return fmt.Errorf("%s: %w", what, err)
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return fmt.Errorf("%s: %w (last error: %w)", what, ctx.Err(), err)
		}
		wait = min(2*wait, 2*time.Second)
	}
}

// create creates obj, counting an object that already exists (an earlier
// try whose answer was lost to an API server restart) as created.
func create(ctx context.Context, kube client.Client, obj client.Object) error {
	return retry(ctx, "create "+obj.GetNamespace()+"/"+obj.GetName(), func(ctx context.Context) error {
		err := kube.Create(ctx, obj.DeepCopyObject().(client.Object))
		if kerrors.IsAlreadyExists(err) {
			return nil
		}
		return err
	})
}

// forEach runs fn on every item with a few workers, and returns the errors.
func forEach[T any](items []T, fn func(T) error) error { return devenv.ForEach(items, 8, fn) }

// object is the ImageSharePermission of s, in its scope.
func (s share) object() client.Object {
	params := common.ImageSharePermissionParameters{Region: region, ImageID: s.image, AccountID: s.account}
	if s.namespace == "" {
		o := &clusterecsv1beta1.ImageSharePermission{ObjectMeta: metav1.ObjectMeta{Name: s.name}}
		o.Spec.ForProvider = params
		o.Spec.ProviderConfigReference = &xpv2.Reference{Name: s.config}
		return o
	}
	o := &ecsv1beta1.ImageSharePermission{ObjectMeta: metav1.ObjectMeta{Name: s.name, Namespace: s.namespace}}
	o.Spec.ForProvider = params
	o.Spec.ProviderConfigReference = &xpv2.ProviderConfigReference{Kind: s.configKind, Name: s.config}
	return o
}

// observed is what the run reads back of one ImageSharePermission.
type observed struct {
	key           string
	created       time.Time
	ready, synced xpv2.Condition
	deleting      bool
	finalizers    []string
}

// listShares reads every ImageSharePermission of both kinds.
func listShares(ctx context.Context, kube client.Client) (map[string]observed, error) {
	out := map[string]observed{}
	add := func(key string, m metav1.ObjectMeta, st xpv2.ConditionedStatus) {
		out[key] = observed{
			key: key, created: m.CreationTimestamp.Time,
			ready: st.GetCondition(xpv2.TypeReady), synced: st.GetCondition(xpv2.TypeSynced),
			deleting: m.DeletionTimestamp != nil, finalizers: m.Finalizers,
		}
	}
	err := retry(ctx, "list ImageSharePermissions", func(ctx context.Context) error {
		clear(out)
		var ns ecsv1beta1.ImageSharePermissionList
		if err := kube.List(ctx, &ns); err != nil {
			return err
		}
		for _, o := range ns.Items {
			add(o.Namespace+"/"+o.Name, o.ObjectMeta, o.Status.ConditionedStatus)
		}
		var cl clusterecsv1beta1.ImageSharePermissionList
		if err := kube.List(ctx, &cl); err != nil {
			return err
		}
		for _, o := range cl.Items {
			add("/"+o.Name, o.ObjectMeta, o.Status.ConditionedStatus)
		}
		return nil
	})
	return out, err
}

// secret is a credentials Secret for key.
func secret(ns, name, keyID, keySecret string) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		StringData: map[string]string{"credentials": fmt.Sprintf(`{"accessKeyId": %q, "accessKeySecret": %q}`, keyID, keySecret)},
	}
}

// configSpec points at the simulator, for ECS and STS, with the Secret
// ns/name.
func configSpec(endpoint, ns, name string) common.ProviderConfigSpec {
	return common.ProviderConfigSpec{
		Endpoint: &endpoint, STSEndpoint: &endpoint,
		Timeouts: &common.Timeouts{Read: &metav1.Duration{Duration: readTimeout}, Connect: &metav1.Duration{Duration: readTimeout}},
		Credentials: common.ProviderCredentials{
			Source: xpv2.CredentialsSourceSecret,
			CommonCredentialSelectors: xpv2.CommonCredentialSelectors{SecretRef: &xpv2.SecretKeySelector{
				SecretReference: xpv2.SecretReference{Namespace: ns, Name: name}, Key: "credentials",
			}},
		},
	}
}

// configObjects are the namespaces, Secrets and provider configurations of
// both tenants and of the stuck shares: tenant A through a ProviderConfig
// and Secret in its own namespace; tenant B through a ClusterProviderConfig
// (for its namespaced shares) and a cluster ProviderConfig (for its
// cluster-scoped ones), with its Secret in crossplane-system.
func (w world) configObjects(endpoint string) []client.Object {
	a, b := w.tenants[0], w.tenants[1]
	const system = "crossplane-system"
	objs := []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: nsA}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: nsB}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: system}},
		secret(nsA, "tenant-a", a.keyID, a.secret),
		// The key exists, but this is not its secret.
		secret(nsA, "wrong-key", w.wrongKeyID, w.wrongKeySecret+"-not"),
		secret(nsA, "ram-denied", w.ramKeyID, w.ramKeySecret),
		secret(system, "tenant-b", b.keyID, b.secret),
		&clusterpcv1beta1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Name: pcTenantB}, Spec: configSpec(endpoint, system, "tenant-b")},
		&pcv1beta1.ClusterProviderConfig{ObjectMeta: metav1.ObjectMeta{Name: pcTenantB}, Spec: pcv1beta1.ClusterProviderConfigSpec{ProviderConfigSpec: configSpec(endpoint, system, "tenant-b")}},
	}
	for _, pc := range []struct{ name, secret string }{{pcTenantA, "tenant-a"}, {pcWrongKey, "wrong-key"}, {pcRAMDenied, "ram-denied"}} {
		objs = append(objs, &pcv1beta1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Namespace: nsA, Name: pc.name}, Spec: configSpec(endpoint, nsA, pc.secret)})
	}
	return objs
}
