package config

import (
	"context"
	"fmt"

	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	alibabacloudv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/alibabacloud/v1beta1"
	clusterv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/cluster/alibabacloud/v1beta1"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/ecs"
)

// Resolver finds the provider configuration a managed resource refers to,
// records the use, and reads its credentials.
type Resolver struct {
	kube   client.Client
	modern *resource.ProviderConfigUsageTracker
	legacy *resource.LegacyProviderConfigUsageTracker
}

// NewResolver returns a Resolver reading through kube.
func NewResolver(kube client.Client) *Resolver {
	return &Resolver{
		kube:   kube,
		modern: resource.NewProviderConfigUsageTracker(kube, &alibabacloudv1beta1.ProviderConfigUsage{}),
		legacy: resource.NewLegacyProviderConfigUsageTracker(kube, &clusterv1beta1.ProviderConfigUsage{}),
	}
}

// Namespaced resolves the ProviderConfig (in the resource's namespace) or
// ClusterProviderConfig of a namespaced managed resource. A ProviderConfig
// may only read Secrets in its own namespace: otherwise anyone who can write
// a ProviderConfig could borrow any namespace's credentials.
func (r *Resolver) Namespaced(ctx context.Context, mg resource.ModernManaged, region string) (ecs.Config, error) {
	if err := r.modern.Track(ctx, mg); err != nil {
		return ecs.Config{}, fmt.Errorf("cannot track ProviderConfig usage: %w", err)
	}
	ref := mg.GetProviderConfigReference()
	switch ref.Kind {
	case alibabacloudv1beta1.ProviderConfigKind:
		pc := &alibabacloudv1beta1.ProviderConfig{}
		if err := r.get(ctx, types.NamespacedName{Namespace: mg.GetNamespace(), Name: ref.Name}, ref.Kind, pc); err != nil {
			return ecs.Config{}, err
		}
		if s := pc.Spec.Credentials.SecretRef; s != nil && s.Namespace != pc.Namespace {
			return ecs.Config{}, fmt.Errorf("ProviderConfig %s/%s refers to a Secret in namespace %q: a namespaced ProviderConfig may only use Secrets in its own namespace; move the Secret to %q or use a ClusterProviderConfig",
				pc.Namespace, pc.Name, s.Namespace, pc.Namespace)
		}
		return r.clientConfig(ctx, pc.Spec, region)
	case alibabacloudv1beta1.ClusterProviderConfigKind:
		pc := &alibabacloudv1beta1.ClusterProviderConfig{}
		if err := r.get(ctx, types.NamespacedName{Name: ref.Name}, ref.Kind, pc); err != nil {
			return ecs.Config{}, err
		}
		return r.clientConfig(ctx, pc.Spec, region)
	}
	return ecs.Config{}, fmt.Errorf("spec.providerConfigRef.kind %q is not %s or %s", ref.Kind,
		alibabacloudv1beta1.ProviderConfigKind, alibabacloudv1beta1.ClusterProviderConfigKind)
}

// Cluster resolves the cluster-scoped ProviderConfig of a cluster-scoped
// managed resource.
func (r *Resolver) Cluster(ctx context.Context, mg resource.LegacyManaged, region string) (ecs.Config, error) {
	if err := r.legacy.Track(ctx, mg); err != nil {
		return ecs.Config{}, fmt.Errorf("cannot track ProviderConfig usage: %w", err)
	}
	pc := &clusterv1beta1.ProviderConfig{}
	if err := r.get(ctx, types.NamespacedName{Name: mg.GetProviderConfigReference().Name}, clusterv1beta1.ProviderConfigKind, pc); err != nil {
		return ecs.Config{}, err
	}
	return r.clientConfig(ctx, pc.Spec, region)
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

// clientConfig reads the credentials and turns a configuration into what
// the ECS client needs. Errors never quote the credentials document.
func (r *Resolver) clientConfig(ctx context.Context, spec alibabacloudv1beta1.ProviderConfigSpec, region string) (ecs.Config, error) {
	creds := spec.Credentials
	doc, err := resource.CommonCredentialExtractor(ctx, creds.Source, r.kube, creds.CommonCredentialSelectors)
	if err != nil {
		return ecs.Config{}, fmt.Errorf("cannot read credentials (source %s): %w", creds.Source, err)
	}
	if len(doc) == 0 {
		return ecs.Config{}, fmt.Errorf("credentials are empty: %s has no credentials document; add it", whereCredentials(creds))
	}
	c, err := ecs.ParseCredentials(doc)
	if err != nil {
		return ecs.Config{}, fmt.Errorf("credentials in %s: %w", whereCredentials(creds), err)
	}
	cfg := ecs.Config{Region: region, Credentials: c}
	if spec.Endpoint != nil {
		cfg.Endpoint = *spec.Endpoint
	}
	if t := spec.Timeouts; t != nil && t.Connect != nil {
		cfg.ConnectTimeout = t.Connect.Duration
	}
	if t := spec.Timeouts; t != nil && t.Read != nil {
		cfg.ReadTimeout = t.Read.Duration
	}
	return cfg, nil
}

// whereCredentials names where the credentials were looked for, so a person
// knows what to fix. A missing Secret key reads as empty credentials.
func whereCredentials(c alibabacloudv1beta1.ProviderCredentials) string {
	switch {
	case c.Source == xpv2.CredentialsSourceSecret && c.SecretRef != nil:
		return fmt.Sprintf("key %q of Secret %s/%s", c.SecretRef.Key, c.SecretRef.Namespace, c.SecretRef.Name)
	case c.Source == xpv2.CredentialsSourceEnvironment && c.Env != nil:
		return fmt.Sprintf("environment variable %s", c.Env.Name)
	case c.Source == xpv2.CredentialsSourceFilesystem && c.Fs != nil:
		return fmt.Sprintf("file %s", c.Fs.Path)
	}
	return "source " + string(c.Source)
}
