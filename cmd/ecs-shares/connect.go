package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/alecthomas/kingpin/v2"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/apis"
	clusterecsv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/cluster/ecs/v1beta1"
	ecsv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/namespaced/ecs/v1beta1"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/alisdk"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/credentials"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/ecs"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/controller/config"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/pacing"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/version"
)

// ecsSource is how import ecs reads ECS: as the configuration the objects
// will name, read through a kubeconfig, or with a credentials file.
type ecsSource struct {
	regions []string
	images  []string
	family  string

	credentialsFile, endpoint, caBundleFile string
	kubeconfig, tenantEndpoints             string
	describeRate                            float64

	pacers *pacing.Pacers
}

func ecsFlags(c *kingpin.CmdClause) *ecsSource {
	s := &ecsSource{}
	c.Flag("region", "A region to read, such as cn-hangzhou (repeatable).").Required().StringsVar(&s.regions)
	c.Flag("image", "Read only this image's shares (repeatable): an image of the account's own, whether ECS says it is shared or not.").StringsVar(&s.images)
	c.Flag("image-family", "Read only the shares of this image family's images.").StringVar(&s.family)
	c.Flag("kubeconfig", "Read ECS with the credentials of the configuration the objects name (--config-kind, --config-name), as the provider would: through this kubeconfig's cluster. The default, unless --credentials-file is given.").Envar("KUBECONFIG").StringVar(&s.kubeconfig)
	c.Flag("credentials-file", "Read ECS with the keys of this file instead: a JSON document as a credentials Secret holds it ({\"accessKeyId\": …, \"accessKeySecret\": …}).").ExistingFileVar(&s.credentialsFile)
	c.Flag("endpoint", "With --credentials-file: the ECS endpoint, such as https://ecs-vpc.cn-hangzhou.aliyuncs.com; empty, the region's public one.").StringVar(&s.endpoint)
	c.Flag("ca-bundle-file", "With --credentials-file: PEM certificates that replace the system's roots for the endpoint.").ExistingFileVar(&s.caBundleFile)
	c.Flag("tenant-endpoints", "With --kubeconfig and a namespaced ProviderConfig: the hosts it may send requests to, as the provider's flag of that name.").Default(alisdk.DefaultTenantEndpoints).StringVar(&s.tenantEndpoints)
	c.Flag("ecs-describe-rate", "DescribeImages and DescribeImageSharePermission calls per second to start with; cut when ECS throttles, as the provider's flag of that name.").Default("20").Float64Var(&s.describeRate)
	return s
}

// client returns an ECS client of region, paced like the provider's.
func (s *ecsSource) client(ctx context.Context, out *output, region string) (ecs.Client, error) {
	cfg, err := s.config(ctx, out, region)
	if err != nil {
		return nil, err
	}
	if s.pacers == nil {
		s.pacers = pacing.New(pacing.Options{Rates: map[string]float64{ecs.ActionDescribe: s.describeRate, ecs.ActionDescribeImages: s.describeRate}})
	}
	cfg.Pacer = s.pacers.For(pacing.Key{Budget: "import", Endpoint: cfg.Endpoint, Region: region})
	cfg.UserAgent = "ecs-shares/" + version.Version
	return ecs.New(cfg) //nolint:contextcheck // The client's SDK clients live as long as it does, not for a call's context.
}

// config is how to reach ECS in region.
func (s *ecsSource) config(ctx context.Context, out *output, region string) (ecs.Config, error) {
	if s.credentialsFile != "" {
		doc, err := os.ReadFile(s.credentialsFile)
		if err != nil {
			return ecs.Config{}, err
		}
		creds, err := credentials.Parse(doc)
		if err != nil {
			return ecs.Config{}, fmt.Errorf("%s: %w", s.credentialsFile, err)
		}
		cfg := ecs.Config{Region: region, Endpoint: s.endpoint, Credentials: creds}
		if s.caBundleFile != "" {
			if cfg.CABundle, err = os.ReadFile(s.caBundleFile); err != nil {
				return ecs.Config{}, err
			}
		}
		return cfg, nil
	}
	if s.kubeconfig == "" {
		return ecs.Config{}, errors.New("say how to read ECS: --kubeconfig (or KUBECONFIG), to use the configuration the objects name, or --credentials-file")
	}
	kube, err := s.kube()
	if err != nil {
		return ecs.Config{}, err
	}
	tenants, err := alisdk.ParseEndpointPolicy(s.tenantEndpoints)
	if err != nil {
		return ecs.Config{}, fmt.Errorf("--tenant-endpoints: %w", err)
	}
	r := config.NewResolver(kube, config.CredentialOptions{LookupEnv: os.LookupEnv, UserAgent: "ecs-shares/" + version.Version, TenantEndpoints: tenants})
	// The configuration resolves for an object as the import writes it, so
	// that a ClusterProviderConfig that does not admit the namespace says
	// so now, not once the objects are applied.
	res, err := r.ResolveUntracked(ctx, user(out), region)
	if err != nil {
		return ecs.Config{}, err
	}
	return res.Config, nil
}

// user is an object of those the import writes, which names their
// configuration.
func user(out *output) resource.Managed {
	return out.options().Scoped(&clusterecsv1beta1.ImageSharePermission{ObjectMeta: metav1.ObjectMeta{Name: "import"}},
		&ecsv1beta1.ImageSharePermission{ObjectMeta: metav1.ObjectMeta{Name: "import"}})
}

func (s *ecsSource) kube() (client.Client, error) {
	rest, err := clientcmd.BuildConfigFromFlags("", s.kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("cannot read the kubeconfig %s: %w", s.kubeconfig, err)
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := apis.AddToScheme(scheme); err != nil {
		return nil, err
	}
	return client.New(rest, client.Options{Scheme: scheme})
}
