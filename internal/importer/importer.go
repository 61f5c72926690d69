// Package importer brings existing shares under the provider: it turns
// shares, read from ECS (FromECS) or from a Terraform state (package
// terraform), into the managed resources that manage them, with their
// external names set and, unless asked for full control, only observing,
// so that applying them changes nothing in ECS. Its output is stable: the
// same shares give the same objects, in the same order, with the same
// names.
package importer

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	clusterecsv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/cluster/ecs/v1beta1"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/common"
	alibabacloudv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/namespaced/alibabacloud/v1beta1"
	ecsv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/namespaced/ecs/v1beta1"
)

// Share is one account's share of one image, wherever it was read.
type Share struct {
	Region, ImageID, AccountID string
}

// The kinds an import writes.
const (
	KindImageSharePermission = "ImageSharePermission"
	KindImageSharing         = "ImageSharing"
)

// Options say what objects to write.
type Options struct {
	// Kind is KindImageSharePermission (one object per share) or
	// KindImageSharing (one per image, listing its accounts).
	Kind string
	// Cluster writes cluster-scoped objects; otherwise namespaced ones, in
	// Namespace.
	Cluster   bool
	Namespace string
	// ConfigKind and ConfigName are the objects' providerConfigRef: for
	// namespaced objects ConfigKind is ProviderConfig or
	// ClusterProviderConfig; cluster-scoped objects name a cluster-scoped
	// ProviderConfig and ignore it.
	ConfigKind, ConfigName string
	// FullControl leaves the objects' management policies at their
	// default, ["*"], so that the provider corrects drift and deleting an
	// object unshares. Off, they only observe: applying them, and deleting
	// them, changes nothing in ECS.
	FullControl bool
}

// The API's own patterns, so that an object written here is one the API
// server admits, and a refusal says why before anything is applied.
var (
	regionPattern  = regexp.MustCompile(common.RegionPattern)
	imagePattern   = regexp.MustCompile(common.ImageIDPattern)
	accountPattern = regexp.MustCompile(common.AccountIDPattern)
)

// Validate says what of s the API would refuse.
func (s Share) Validate() error {
	switch {
	case len(s.Region) > common.RegionMaxLength || !regionPattern.MatchString(s.Region):
		return fmt.Errorf("region %q is not an Alibaba Cloud region ID such as cn-hangzhou", s.Region)
	case len(s.ImageID) > common.ImageIDMaxLength || !imagePattern.MatchString(s.ImageID):
		return fmt.Errorf("image ID %q is not a custom image ID such as m-bp1g7004ksh0oeuco4y5", s.ImageID)
	case len(s.AccountID) > common.AccountIDMaxLength || !accountPattern.MatchString(s.AccountID):
		return fmt.Errorf("account ID %q is not the numeric ID of an Alibaba Cloud account", s.AccountID)
	}
	return nil
}

// Objects are the managed resources that manage shares, sorted by name.
// A share that repeats another is one object.
func Objects(shares []Share, o Options) ([]resource.Managed, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	shares = slices.Clone(shares)
	for _, s := range shares {
		if err := s.Validate(); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(shares, func(a, b Share) int {
		return cmp.Or(strings.Compare(a.Region, b.Region), strings.Compare(a.ImageID, b.ImageID), strings.Compare(a.AccountID, b.AccountID))
	})
	shares = slices.Compact(shares)
	var out []resource.Managed
	if o.Kind == KindImageSharePermission {
		for _, s := range shares {
			out = append(out, o.permission(s))
		}
	} else {
		for group := range images(shares) {
			if len(group) > common.MaxAccounts {
				return nil, fmt.Errorf("image %s is shared with %d accounts, and an ImageSharing lists at most %d: import it as ImageSharePermissions", group[0].ImageID, len(group), common.MaxAccounts)
			}
			out = append(out, o.sharing(group))
		}
	}
	slices.SortFunc(out, func(a, b resource.Managed) int { return strings.Compare(a.GetName(), b.GetName()) })
	for i := 1; i < len(out); i++ {
		if out[i].GetName() == out[i-1].GetName() {
			return nil, fmt.Errorf("two objects would be named %s: the same image ID in two regions cannot be", out[i].GetName())
		}
	}
	return out, nil
}

func (o Options) validate() error {
	switch {
	case o.Kind != KindImageSharePermission && o.Kind != KindImageSharing:
		return fmt.Errorf("kind %q is neither %s nor %s", o.Kind, KindImageSharePermission, KindImageSharing)
	case !o.Cluster && o.Namespace == "":
		return fmt.Errorf("namespaced objects need a namespace")
	case o.ConfigName == "":
		return fmt.Errorf("the objects need a provider configuration to name")
	case !o.Cluster && o.ConfigKind != alibabacloudv1beta1.ProviderConfigKind && o.ConfigKind != alibabacloudv1beta1.ClusterProviderConfigKind:
		return fmt.Errorf("namespaced objects name a %s or a %s, not a %q", alibabacloudv1beta1.ProviderConfigKind, alibabacloudv1beta1.ClusterProviderConfigKind, o.ConfigKind)
	}
	return nil
}

// images yields the shares of each image, in order; shares must be sorted.
func images(shares []Share) func(yield func([]Share) bool) {
	return func(yield func([]Share) bool) {
		for len(shares) > 0 {
			n := 1
			for n < len(shares) && shares[n].Region == shares[0].Region && shares[n].ImageID == shares[0].ImageID {
				n++
			}
			if !yield(shares[:n]) {
				return
			}
			shares = shares[n:]
		}
	}
}

func (o Options) permission(s Share) resource.Managed {
	p := common.ImageSharePermissionParameters{Region: s.Region, ImageID: s.ImageID, AccountID: s.AccountID}
	cl := &clusterecsv1beta1.ImageSharePermission{TypeMeta: typeMeta(clusterecsv1beta1.ImageSharePermissionGroupVersionKind.GroupVersion().String(), KindImageSharePermission)}
	cl.Spec.ForProvider = p
	ns := &ecsv1beta1.ImageSharePermission{TypeMeta: typeMeta(ecsv1beta1.ImageSharePermissionGroupVersionKind.GroupVersion().String(), KindImageSharePermission)}
	ns.Spec.ForProvider = p
	mg := o.Scoped(cl, ns)
	o.finish(mg, objectName(s.ImageID)+"-"+s.AccountID, p.ExternalName())
	return mg
}

func (o Options) sharing(shares []Share) resource.Managed {
	p := common.ImageSharingParameters{Region: shares[0].Region, ImageID: shares[0].ImageID}
	for _, s := range shares {
		p.Accounts = append(p.Accounts, s.AccountID)
	}
	cl := &clusterecsv1beta1.ImageSharing{TypeMeta: typeMeta(clusterecsv1beta1.ImageSharingGroupVersionKind.GroupVersion().String(), KindImageSharing)}
	cl.Spec.ForProvider = p
	ns := &ecsv1beta1.ImageSharing{TypeMeta: typeMeta(ecsv1beta1.ImageSharingGroupVersionKind.GroupVersion().String(), KindImageSharing)}
	ns.Spec.ForProvider = p
	mg := o.Scoped(cl, ns)
	o.finish(mg, objectName(p.ImageID), p.ExternalName())
	return mg
}

// A ClusterObject is a cluster-scoped managed resource; a
// NamespacedObject a namespaced one. They name their configuration
// differently.
type (
	ClusterObject interface {
		resource.Managed
		SetProviderConfigReference(*xpv2.Reference)
	}
	NamespacedObject interface {
		resource.Managed
		SetProviderConfigReference(*xpv2.ProviderConfigReference)
	}
)

// Scoped is the object of the options' scope, of the two given, naming the
// options' configuration and, namespaced, in their namespace.
func (o Options) Scoped(cluster ClusterObject, namespaced NamespacedObject) resource.Managed {
	if o.Cluster {
		cluster.SetProviderConfigReference(&xpv2.Reference{Name: o.ConfigName})
		return cluster
	}
	namespaced.SetProviderConfigReference(&xpv2.ProviderConfigReference{Kind: o.ConfigKind, Name: o.ConfigName})
	namespaced.SetNamespace(o.Namespace)
	return namespaced
}

func typeMeta(apiVersion, kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: apiVersion, Kind: kind}
}

// finish names the object, sets its external name, and, unless the import
// takes full control, makes it only observe.
func (o Options) finish(mg resource.Managed, name, externalName string) {
	mg.SetName(name)
	meta.SetExternalName(mg, externalName)
	if !o.FullControl {
		mg.SetManagementPolicies(xpv2.ManagementPolicies{xpv2.ManagementActionObserve})
	}
}

// objectName is an image ID as an object name: Kubernetes names are lower
// case, and image IDs need not be, so one that is not gets a digest of
// itself, which keeps m-AB and m-ab apart.
func objectName(imageID string) string {
	lower := strings.ToLower(imageID)
	if lower == imageID {
		return lower
	}
	sum := sha256.Sum256([]byte(imageID))
	return lower + "-" + hex.EncodeToString(sum[:])[:8]
}
