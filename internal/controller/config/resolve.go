package config

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	corev1 "k8s.io/api/core/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/cluster/alibabacloud/v1beta1"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/common"
	alibabacloudv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/namespaced/alibabacloud/v1beta1"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/credentials"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/ecs"
)

// Resolver finds the provider configuration a managed resource refers to,
// records the use, and reads its credentials.
type Resolver struct {
	kube        client.Client
	modern      *resource.ProviderConfigUsageTracker
	legacy      *resource.LegacyProviderConfigUsageTracker
	credentials *credentialSources
	endpoints   endpointRules
	// secrets reads the Secrets configurations name.
	secrets *secretReader
}

// NewResolver returns a Resolver reading through kube. One Resolver serves
// every controller, so that a configuration's STS sessions are shared by
// all its resources and by its identity check.
func NewResolver(kube client.Client, o CredentialOptions) *Resolver {
	return &Resolver{
		secrets:     newSecretReader(kube),
		kube:        kube,
		modern:      resource.NewProviderConfigUsageTracker(kube, &alibabacloudv1beta1.ProviderConfigUsage{}),
		legacy:      resource.NewLegacyProviderConfigUsageTracker(kube, &clusterv1beta1.ProviderConfigUsage{}),
		credentials: newCredentialSources(o),
		endpoints:   newEndpointRules(o.TenantEndpoints),
	}
}

// Resolved is what a managed resource's provider configuration resolves to.
type Resolved struct {
	ecs.Config
	// ProviderConfig names the configuration, kind/namespace/name, for
	// messages.
	ProviderConfig string
	// Key names exactly what the configuration's ECS client is built from:
	// the configuration's UID, every field of its credentials plan (secrets
	// by their hashes), the ECS client's settings and the budget. The ECS
	// client is kept by it (and listings and batches by Scope, which is
	// all of it but the budget), so a changed field, a rotated Secret or a
	// configuration re-created under the same name never reuses what was
	// built before.
	Key string
	// Scope names what the configuration sees of ECS: Key without the
	// Budget. Listings and batches are kept by it, not by Key, so that the
	// identity check, which moves the configuration's calls from its own
	// budget to its account's (a new Key), does not part a change queued
	// before it from the lookups after it: a refusal kept under the old Key
	// went unseen for the creation grace period.
	Scope string
	// Budget names whose ECS rate limits the calls count against: the
	// account STS proved the credentials to be, once the identity check has,
	// or the configuration alone until then. A claimed AccessKey ID never
	// joins another's budget.
	Budget string
}

// Resolve resolves the configuration of a managed resource of either scope:
// a namespaced resource is modern and a cluster-scoped one legacy, and no
// resource is both (their GetProviderConfigReference methods differ).
func (r *Resolver) Resolve(ctx context.Context, mg resource.Managed, region string) (Resolved, error) {
	return r.resolveFor(ctx, mg, region, true)
}

// ResolveUntracked is Resolve for a caller that is not the resource's
// controller, such as the import command resolving the configuration that
// the objects it writes will name: it records no use of the configuration,
// which would outlive the call and name a resource that does not exist.
func (r *Resolver) ResolveUntracked(ctx context.Context, mg resource.Managed, region string) (Resolved, error) {
	return r.resolveFor(ctx, mg, region, false)
}

func (r *Resolver) resolveFor(ctx context.Context, mg resource.Managed, region string, tracked bool) (Resolved, error) {
	switch mg := mg.(type) {
	case resource.ModernManaged:
		return r.namespaced(ctx, mg, region, tracked)
	case resource.LegacyManaged:
		return r.cluster(ctx, mg, region, tracked)
	}
	return Resolved{}, fmt.Errorf("%T is neither a namespaced nor a cluster-scoped managed resource", mg)
}

// namespaced resolves the ProviderConfig (in the resource's namespace) or
// ClusterProviderConfig of a namespaced managed resource.
func (r *Resolver) namespaced(ctx context.Context, mg resource.ModernManaged, region string, tracked bool) (Resolved, error) {
	track := func() error {
		if !tracked {
			return nil
		}
		if err := r.modern.Track(ctx, mg); err != nil {
			return fmt.Errorf("cannot track ProviderConfig usage: %w", err)
		}
		return nil
	}
	ref := mg.GetProviderConfigReference()
	switch ref.Kind {
	case alibabacloudv1beta1.ProviderConfigKind:
		if err := track(); err != nil {
			return Resolved{}, err
		}
		pc := &alibabacloudv1beta1.ProviderConfig{}
		if err := r.get(ctx, types.NamespacedName{Namespace: mg.GetNamespace(), Name: ref.Name}, ref.Kind, pc); err != nil {
			return Resolved{}, err
		}
		return r.resolved(ctx, alibabacloudv1beta1.ProviderConfigGroupVersionKind, pc, pc.Spec, region)
	case alibabacloudv1beta1.ClusterProviderConfigKind:
		pc := &alibabacloudv1beta1.ClusterProviderConfig{}
		if err := r.get(ctx, types.NamespacedName{Name: ref.Name}, ref.Kind, pc); err != nil {
			return Resolved{}, err
		}
		// A resource the configuration does not admit is no user of it:
		// it must not keep the configuration from being deleted.
		if err := r.admitted(ctx, pc, mg.GetNamespace()); err != nil {
			return Resolved{}, err
		}
		if err := track(); err != nil {
			return Resolved{}, err
		}
		return r.resolved(ctx, alibabacloudv1beta1.ClusterProviderConfigGroupVersionKind, pc, pc.Spec.ProviderConfigSpec, region)
	}
	return Resolved{}, fmt.Errorf("spec.providerConfigRef.kind %q is not %s or %s", ref.Kind,
		alibabacloudv1beta1.ProviderConfigKind, alibabacloudv1beta1.ClusterProviderConfigKind)
}

// cluster resolves the cluster-scoped ProviderConfig of a cluster-scoped
// managed resource.
func (r *Resolver) cluster(ctx context.Context, mg resource.LegacyManaged, region string, tracked bool) (Resolved, error) {
	if tracked {
		if err := r.legacy.Track(ctx, mg); err != nil {
			return Resolved{}, fmt.Errorf("cannot track ProviderConfig usage: %w", err)
		}
	}
	pc := &clusterv1beta1.ProviderConfig{}
	if err := r.get(ctx, types.NamespacedName{Name: mg.GetProviderConfigReference().Name}, clusterv1beta1.ProviderConfigKind, pc); err != nil {
		return Resolved{}, err
	}
	return r.resolved(ctx, clusterv1beta1.ProviderConfigGroupVersionKind, pc, pc.Spec, region)
}

// tenantSafe refuses what a namespaced ProviderConfig must not use. Whoever
// can write one is a tenant of its namespace: reading another namespace's
// Secret would borrow that tenant's credentials, and the Environment,
// Filesystem, RRSA and ECSRole sources would borrow the provider pod's own,
// which the operator gave it for ClusterProviderConfigs. An
// assumeRoleChain is the tenant's own: it signs with the tenant's Secret.
// The CRD refuses the pod's sources too; this catches objects stored before
// that rule existed, or written past it. The messages repeat only what the
// ProviderConfig itself says.
func tenantSafe(pc *alibabacloudv1beta1.ProviderConfig) error {
	creds := pc.Spec.Credentials
	if creds.Source != xpv2.CredentialsSourceSecret {
		return fmt.Errorf("ProviderConfig %s/%s uses credentials.source %s: a namespaced ProviderConfig may only use source Secret, with a Secret in its own namespace, and an assumeRoleChain on top; "+
			"the provider's own environment, files and identity (RRSA, ECSRole) are for a ClusterProviderConfig, which a cluster administrator writes",
			pc.Namespace, pc.Name, creds.Source)
	}
	type secretField struct {
		path string
		ref  *xpv2.SecretKeySelector
	}
	refs := []secretField{{"credentials.secretRef", creds.SecretRef}}
	if t := pc.Spec.TLS; t != nil {
		refs = append(refs, secretField{"tls.caBundleSecretRef", &t.CABundleSecretRef})
	}
	for _, f := range refs {
		if f.ref != nil && f.ref.Namespace != pc.Namespace {
			return fmt.Errorf("ProviderConfig %s/%s: %s refers to a Secret in namespace %q: a namespaced ProviderConfig may only use Secrets in its own namespace; move the Secret to %q or use a ClusterProviderConfig",
				pc.Namespace, pc.Name, f.path, f.ref.Namespace, pc.Namespace)
		}
	}
	return nil
}

// resolved resolves a configuration for ECS in region.
func (r *Resolver) resolved(ctx context.Context, gvk schema.GroupVersionKind, pc client.Object, spec common.ProviderConfigSpec, region string) (Resolved, error) {
	res, _, err := r.resolve(ctx, gvk, pc, spec, region)
	return res, err
}

// resolve turns a configuration into what its ECS clients and its identity
// check need, once: the ECS client's configuration and what its
// credentials plan built.
func (r *Resolver) resolve(ctx context.Context, gvk schema.GroupVersionKind, pc client.Object, spec common.ProviderConfigSpec, region string) (Resolved, *credentials.Built, error) {
	res := Resolved{ProviderConfig: configName(gvk, pc)}
	cfg, plan, err := r.clientConfig(ctx, pc, spec, region)
	if err != nil {
		return res, nil, err
	}
	fingerprint := plan.Fingerprint()
	built, err := r.credentials.get(fingerprint, plan)
	if err != nil {
		return res, nil, err
	}
	if len(plan.Chain) > 0 || plan.Kind != credentials.BaseStatic {
		cfg.Credentials, cfg.Source = credentials.Credentials{}, built.Source
	}
	res.Config = cfg
	res.Budget = "config:" + string(pc.GetUID())
	if account := built.Account(); account != "" {
		res.Budget = "account:" + account
	}
	res.Scope = keyOf(fingerprint, cfg.Fingerprint())
	res.Key = keyOf(res.Scope, res.Budget)
	return res, built, nil
}

// keyOf joins parts without ambiguity and hashes them.
func keyOf(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		_, _ = fmt.Fprintf(h, "%d:%s;", len(p), p) // A hash takes every write.
	}
	return hex.EncodeToString(h.Sum(nil))
}

// configName names a configuration kind/namespace/name; the group tells the
// two kinds named ProviderConfig apart.
func configName(gvk schema.GroupVersionKind, pc client.Object) string {
	return gvk.GroupKind().String() + "/" + pc.GetNamespace() + "/" + pc.GetName()
}

func (r *Resolver) get(ctx context.Context, key types.NamespacedName, kind string, obj client.Object) error {
	err := r.kube.Get(ctx, key, obj)
	if kerrors.IsNotFound(err) {
		where := ""
		if key.Namespace != "" {
			where = " in namespace " + key.Namespace
		}
		return fmt.Errorf("%s %q not found%s: create it, or point spec.providerConfigRef at one that exists", kind, key.Name, where)
	}
	if err != nil {
		return fmt.Errorf("cannot get %s %q: %w", kind, key.Name, err)
	}
	return nil
}

// clientConfig turns a configuration into what the ECS client needs and
// the plan of its credentials. Errors never quote the credentials.
func (r *Resolver) clientConfig(ctx context.Context, pc client.Object, spec common.ProviderConfigSpec, region string) (ecs.Config, credentials.Plan, error) {
	// A namespaced ProviderConfig is checked before anything is read: it
	// must not reach other namespaces' Secrets, the pod's identity, or
	// hosts the operator has not admitted.
	if tenant, ok := pc.(*alibabacloudv1beta1.ProviderConfig); ok {
		if err := tenantSafe(tenant); err != nil {
			return ecs.Config{}, credentials.Plan{}, err
		}
		if err := r.endpoints.tenant(tenant, region); err != nil {
			return ecs.Config{}, credentials.Plan{}, err
		}
	}
	// The configuration's Secrets, as it read them lately.
	kube := r.secrets.For(pc.GetUID())
	t, err := r.transport(ctx, kube, spec)
	if err != nil {
		return ecs.Config{}, credentials.Plan{}, err
	}
	cfg := ecs.Config{Region: region, AllowPlainHTTP: spec.AllowPlainHTTP, CABundle: t.caBundle,
		ConnectTimeout: t.connect, ReadTimeout: t.read, UserAgent: r.credentials.userAgent}
	if spec.Endpoint != nil {
		cfg.Endpoint = *spec.Endpoint
	}
	var static credentials.Credentials
	switch spec.Credentials.Source {
	case common.CredentialsSourceRRSA, common.CredentialsSourceECSRole:
	default:
		if static, err = r.document(ctx, kube, spec.Credentials); err != nil {
			return ecs.Config{}, credentials.Plan{}, err
		}
		cfg.Credentials = static
	}
	plan, err := r.credentials.plan(string(pc.GetUID()), spec, static, t)
	if err != nil {
		return ecs.Config{}, credentials.Plan{}, err
	}
	// The service account token goes to STS only, wherever the
	// configuration came from: an RRSA exchange's STS endpoint must pass the
	// rules a tenant's endpoints do.
	if plan.Kind == credentials.BaseRRSA {
		if err := r.endpoints.rrsa(plan.STS.URL); err != nil {
			return ecs.Config{}, credentials.Plan{}, err
		}
	}
	return cfg, plan, nil
}

// transport is how a configuration reaches its endpoints, ECS and STS alike.
type transport struct {
	caBundle      []byte
	connect, read time.Duration
}

func (r *Resolver) transport(ctx context.Context, kube client.Client, spec common.ProviderConfigSpec) (transport, error) {
	var t transport
	if tls := spec.TLS; tls != nil {
		var err error
		if t.caBundle, err = caBundle(ctx, kube, tls.CABundleSecretRef); err != nil {
			return transport{}, err
		}
	}
	if to := spec.Timeouts; to != nil && to.Connect != nil {
		t.connect = to.Connect.Duration
	}
	if to := spec.Timeouts; to != nil && to.Read != nil {
		t.read = to.Read.Duration
	}
	// The CRD says so too; this catches objects stored before it did.
	switch {
	case t.connect < 0 || t.connect > maxConnectTimeout:
		return transport{}, fmt.Errorf("spec.timeouts.connect %s is not from 0s to %s: shorten it", t.connect, maxConnectTimeout)
	case t.read < 0 || t.read > maxReadTimeout:
		return transport{}, fmt.Errorf("spec.timeouts.read %s is not from 0s to %s: shorten it", t.read, maxReadTimeout)
	}
	return t, nil
}

// The longest timeouts a configuration may set: a call to an endpoint that
// never answers holds one of the workers every configuration shares.
const (
	maxConnectTimeout = 30 * time.Second
	maxReadTimeout    = time.Minute
)

// document reads and parses a credentials document from a Secret, the
// provider's environment or its filesystem.
func (r *Resolver) document(ctx context.Context, kube client.Client, creds common.ProviderCredentials) (credentials.Credentials, error) {
	doc, err := resource.CommonCredentialExtractor(ctx, creds.Source, kube, creds.CommonCredentialSelectors)
	if err != nil {
		if creds.Source != xpv2.CredentialsSourceSecret {
			// The filesystem's error would tell a missing file from an
			// unreadable one: say neither.
			return credentials.Credentials{}, fmt.Errorf("cannot read credentials from %s: it is missing, unreadable or not a file; %s", whereCredentials(creds), provideCredentials(creds))
		}
		return credentials.Credentials{}, fmt.Errorf("cannot read credentials (source %s): %w", creds.Source, err)
	}
	if len(doc) == 0 {
		if creds.Source == xpv2.CredentialsSourceEnvironment {
			// An unset variable reads as an empty one.
			return credentials.Credentials{}, fmt.Errorf("credentials are empty: %s is unset or empty; %s", whereCredentials(creds), provideCredentials(creds))
		}
		return credentials.Credentials{}, fmt.Errorf("credentials are empty: %s has no credentials document; add it", whereCredentials(creds))
	}
	c, err := credentials.Parse(doc)
	if err != nil {
		return credentials.Credentials{}, fmt.Errorf("credentials in %s: %w", whereCredentials(creds), err)
	}
	return c, nil
}

// caBundle reads the PEM CA bundle that spec.tls names.
func caBundle(ctx context.Context, kube client.Client, ref xpv2.SecretKeySelector) ([]byte, error) {
	s := &corev1.Secret{}
	err := kube.Get(ctx, types.NamespacedName{Namespace: ref.Namespace, Name: ref.Name}, s)
	if kerrors.IsNotFound(err) {
		return nil, fmt.Errorf("the CA bundle Secret %s/%s (spec.tls.caBundleSecretRef) does not exist: create it", ref.Namespace, ref.Name)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot get the CA bundle Secret %s/%s: %w", ref.Namespace, ref.Name, err)
	}
	if len(s.Data[ref.Key]) == 0 {
		return nil, fmt.Errorf("key %q of the CA bundle Secret %s/%s is missing or empty: put the PEM certificates of the endpoint's certificate authority there", ref.Key, ref.Namespace, ref.Name)
	}
	return s.Data[ref.Key], nil
}

// whereCredentials names where the credentials were looked for, so a person
// knows what to fix. A missing Secret key reads as empty credentials.
func whereCredentials(c common.ProviderCredentials) string {
	switch {
	case c.Source == xpv2.CredentialsSourceSecret && c.SecretRef != nil:
		return fmt.Sprintf("key %q of Secret %s/%s", c.SecretRef.Key, c.SecretRef.Namespace, c.SecretRef.Name)
	case c.Source == xpv2.CredentialsSourceEnvironment && c.Env != nil:
		return fmt.Sprintf("environment variable %s of the provider's pod", c.Env.Name)
	case c.Source == xpv2.CredentialsSourceFilesystem && c.Fs != nil:
		return fmt.Sprintf("file %s of the provider's pod", c.Fs.Path)
	}
	return "source " + string(c.Source)
}

// provideCredentials says how the credentials document reaches the
// provider's pod when its environment or files lack it.
func provideCredentials(c common.ProviderCredentials) string {
	if c.Source == xpv2.CredentialsSourceEnvironment {
		return "set it to the credentials document, e.g. from a Secret with the DeploymentRuntimeConfig the Provider names (env valueFrom secretKeyRef)"
	}
	return "mount a Secret holding the credentials document there with the DeploymentRuntimeConfig the Provider names (a secret volume)"
}
