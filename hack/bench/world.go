package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/common"
	pcv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/namespaced/alibabacloud/v1beta1"
	ecsv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/namespaced/ecs/v1beta1"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/devenv"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim"
)

// world is what every mode shares: one control plane and one provider
// binary. Each mode brings its own simulator, namespace and provider process.
type world struct {
	cp   *devenv.ControlPlane
	kube client.Client
	bin  string
	// help is the provider's --help, to tell which flags it has.
	help string
	work string
}

func setUp(ctx context.Context, root, assets string) (*world, error) {
	work, err := os.MkdirTemp("", "provider-bench-")
	if err != nil {
		return nil, err
	}
	w := &world{work: work}
	begin := time.Now()
	if w.bin, err = devenv.BuildProvider(ctx, root, work); err != nil {
		w.tearDown()
		return nil, err
	}
	// kingpin answers --help with a zero exit; its output is all we need.
	help, _ := exec.CommandContext(ctx, w.bin, "--help").CombinedOutput()
	w.help = string(help)
	if w.cp, err = devenv.StartControlPlane(assets, filepath.Join(root, "package", "crds"), filepath.Join(work, "kubeconfig")); err != nil {
		w.tearDown()
		return nil, err
	}
	if w.kube, err = newKube(ctx, w.cp); err != nil {
		w.tearDown()
		return nil, err
	}
	fmt.Printf("bench: provider built and control plane up in %v\n", time.Since(begin).Round(time.Millisecond))
	return w, nil
}

func (w *world) tearDown() {
	if w.cp != nil {
		_ = w.cp.Stop()
	}
	_ = os.RemoveAll(w.work)
}

// missingFlags are those of args the provider binary does not know.
func (w *world) missingFlags(args []string) []string {
	var missing []string
	for _, a := range args {
		name, _, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		// kingpin lists a flag as --name=default, or as --[no-]name for a
		// bool, which --no-name switches off.
		pattern := `--(\[no-\])?` + regexp.QuoteMeta(name) + `(=|\s)`
		if off, ok := strings.CutPrefix(name, "no-"); ok {
			pattern = `--\[no-\]` + regexp.QuoteMeta(off) + `\s|` + pattern
		}
		if !regexp.MustCompile(pattern).MatchString(w.help) {
			missing = append(missing, "--"+name)
		}
	}
	return missing
}

// newKube is a client fast enough to create a thousand objects at once:
// client-go's default of 5 requests a second would take minutes. It reads
// from a watch of its own, so that the waits, which look every 250ms, cost
// the API server nothing beyond the events it sends the provider too:
// listing a thousand objects four times a second would take CPU from the
// API server the provider is measured against.
func newKube(ctx context.Context, cp *devenv.ControlPlane) (client.Client, error) {
	scheme, err := devenv.Scheme()
	if err != nil {
		return nil, err
	}
	rc := cp.RESTConfig(2000, 2000, 30*time.Second)
	reads, err := cache.New(rc, cache.Options{Scheme: scheme})
	if err != nil {
		return nil, err
	}
	go func() { _ = reads.Start(ctx) }()
	// Informers start on the first read; this one starts now, so that the
	// first wait does not include its initial list.
	if _, err := reads.GetInformer(ctx, &ecsv1beta1.ImageSharePermission{}); err != nil {
		return nil, err
	}
	return client.New(rc, client.Options{Scheme: scheme, Cache: &client.CacheOptions{Reader: reads}})
}

const (
	region       = "cn-hangzhou"
	owner        = "1000000000000001"
	ownerKeyID   = "LTAIbenchOwnerKey001"
	configName   = "tenant"
	secretName   = "tenant-credentials"
	describeCall = "DescribeImageSharePermission"
	modifyCall   = "ModifyImageSharePermission"
)

func imageID(i int) string { return fmt.Sprintf("m-bench%04d", i) }

// imageIDs are the first n images.
func imageIDs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = imageID(i)
	}
	return out
}

// Every image is the first version of a family of its own, which the
// family mode follows; newVersionID is the version it publishes.
func familyName(i int) string   { return fmt.Sprintf("bench-%04d", i) }
func newVersionID(i int) string { return fmt.Sprintf("m-benchv2%04d", i) }
func accountID(j int) string    { return fmt.Sprintf("5%015d", j) }

// rates are ECS's per-action limits as the settings give them.
func (s settings) rates() map[string]ecssim.Rate {
	rate := func(perSecond float64) ecssim.Rate {
		return ecssim.Rate{PerSecond: perSecond, Burst: max(1, int(math.Ceil(perSecond)))}
	}
	return map[string]ecssim.Rate{describeCall: rate(s.describeRate), modifyCall: rate(s.modifyRate)}
}

// simConfig is one tenant owning every image, the accounts to share them
// with, and a share quota that fits them all.
func simConfig(s settings, limited bool, ownerSecret string) ecssim.Config {
	cfg := ecssim.Config{
		Accounts: []ecssim.Account{{ID: owner, AccessKeys: []ecssim.AccessKey{{ID: ownerKeyID, Secret: ownerSecret}}}},
		Limits:   ecssim.Limits{MaxSharesPerImage: max(ecssim.DefaultMaxSharesPerImage, s.accounts)},
		Faults: ecssim.Faults{
			Seed:    1,
			Latency: ecssim.Duration{Duration: s.latency},
			Jitter:  ecssim.Duration{Duration: s.jitter},
		},
	}
	if limited {
		cfg.Faults.RateLimits.PerAction = s.rates()
	}
	for j := range s.accounts {
		cfg.Accounts = append(cfg.Accounts, ecssim.Account{ID: accountID(j)})
	}
	for i := range s.images {
		cfg.Images = append(cfg.Images, ecssim.Image{ID: imageID(i), Region: region, Owner: owner, Family: familyName(i),
			CreationTime: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
	}
	return cfg
}

// tenantObjects are a namespace with the tenant's credentials and a
// ProviderConfig pointing at the simulator.
func tenantObjects(ns, endpoint, ownerSecret string) []client.Object {
	return []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}},
		&corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: secretName},
			StringData: map[string]string{"credentials": fmt.Sprintf(`{"accessKeyId": %q, "accessKeySecret": %q}`, ownerKeyID, ownerSecret)},
		},
		&pcv1beta1.ProviderConfig{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: configName},
			Spec: common.ProviderConfigSpec{
				// The simulator serves STS too, for the identity check.
				Endpoint: &endpoint, STSEndpoint: &endpoint,
				Credentials: common.ProviderCredentials{
					Source: xpv2.CredentialsSourceSecret,
					CommonCredentialSelectors: xpv2.CommonCredentialSelectors{SecretRef: &xpv2.SecretKeySelector{
						SecretReference: xpv2.SecretReference{Namespace: ns, Name: secretName}, Key: "credentials",
					}},
				},
			},
		},
	}
}

// kind is which managed resource a workload is made of.
type kind struct {
	name string
	// objects are the workload: every image shared with every account.
	objects func(s settings, ns string) []client.Object
	// count is how many objects that is.
	count func(s settings) int
	// list is an empty list of the kind; object, one of it.
	list   func() resource.ManagedList
	object client.Object
}

var (
	permissions = kind{
		name: "ImageSharePermission", objects: shareObjects, count: settings.resources,
		list: func() resource.ManagedList { return &ecsv1beta1.ImageSharePermissionList{} }, object: &ecsv1beta1.ImageSharePermission{},
	}
	sharings = kind{
		name: "ImageSharing", objects: sharingObjects(false), count: func(s settings) int { return s.images },
		list: func() resource.ManagedList { return &ecsv1beta1.ImageSharingList{} }, object: &ecsv1beta1.ImageSharing{},
	}
	families = kind{
		name: "ImageSharing", objects: sharingObjects(true), count: func(s settings) int { return s.images },
		list: func() resource.ManagedList { return &ecsv1beta1.ImageSharingList{} }, object: &ecsv1beta1.ImageSharing{},
	}
)

// sharingObjects are the workload as one ImageSharing per image, or per
// image's family.
func sharingObjects(family bool) func(s settings, ns string) []client.Object {
	return func(s settings, ns string) []client.Object {
		objs := make([]client.Object, 0, s.images)
		for i := range s.images {
			o := &ecsv1beta1.ImageSharing{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("sharing-%04d", i)}}
			o.Spec.ForProvider = common.ImageSharingParameters{Region: region, ImageID: imageID(i)}
			if family {
				o.Spec.ForProvider = common.ImageSharingParameters{Region: region, ImageFamily: familyName(i)}
			}
			for j := range s.accounts {
				o.Spec.ForProvider.Accounts = append(o.Spec.ForProvider.Accounts, accountID(j))
			}
			o.Spec.ProviderConfigReference = &xpv2.ProviderConfigReference{Kind: "ProviderConfig", Name: configName}
			objs = append(objs, o)
		}
		return objs
	}
}

// shareObjects are the workload as one ImageSharePermission per share.
func shareObjects(s settings, ns string) []client.Object {
	objs := make([]client.Object, 0, s.resources())
	for i := range s.images {
		for j := range s.accounts {
			o := &ecsv1beta1.ImageSharePermission{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("share-%04d-%04d", i, j)}}
			o.Spec.ForProvider = common.ImageSharePermissionParameters{Region: region, ImageID: imageID(i), AccountID: accountID(j)}
			o.Spec.ProviderConfigReference = &xpv2.ProviderConfigReference{Kind: "ProviderConfig", Name: configName}
			objs = append(objs, o)
		}
	}
	return objs
}
