package imagesharepermission

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/pkg/controller"
	"github.com/crossplane/crossplane-runtime/v2/pkg/event"
	"github.com/crossplane/crossplane-runtime/v2/pkg/feature"
	"github.com/crossplane/crossplane-runtime/v2/pkg/logging"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"
	xpfake "github.com/crossplane/crossplane-runtime/v2/pkg/resource/fake"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	"github.com/go-logr/logr/funcr"
	corev1 "k8s.io/api/core/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	ctrlevent "sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/common"
	alibabacloudv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/namespaced/alibabacloud/v1beta1"
	ecsv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/namespaced/ecs/v1beta1"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/ecs"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/controller/config"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/controller/controllertest"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/controller/ecsclients"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/controller/requeue"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim/simtest"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/testpki"
)

// Canaries: distinctive credentials that must never be seen outside the
// Secret, the environment variable or the file that holds them.
const (
	canaryKey      = "LTAIcanaryOwner"
	canarySecret   = "canary-secret-5b1e0c7d"
	canaryStsKey   = "STS.canaryKey"
	canaryStsSec   = "canary-sts-secret-81aa"
	canaryToken    = "canary-token-9d27aa40"
	canaryExpired  = "canary-expired-token-3c"
	canaryWrong    = "canary-wrong-secret-44f0"
	canaryReadOnly = "canary-readonly-secret-e2"
)

var canaries = []string{canarySecret, canaryStsSec, canaryToken, canaryExpired, canaryWrong, canaryReadOnly}

func canaryWorld() ecssim.Config {
	in := time.Now().Add(time.Hour)
	ago := time.Now().Add(-time.Hour)
	return ecssim.Config{
		Accounts: []ecssim.Account{
			{ID: owner, AccessKeys: []ecssim.AccessKey{
				{ID: canaryKey, Secret: canarySecret},
				{ID: canaryStsKey, Secret: canaryStsSec, SecurityToken: canaryToken, Expiration: &in},
				{ID: "STS.canaryExpired", Secret: canaryStsSec, SecurityToken: canaryExpired, Expiration: &ago},
				{ID: "LTAIcanaryReadOnly", Secret: canaryReadOnly, AllowedActions: []string{"DescribeImageSharePermission"}},
			}},
			{ID: friend}, {ID: stranger}, {ID: other},
		},
		Images: []ecssim.Image{
			{ID: imageID, Region: region, Owner: owner, SharedWith: []string{friend}},
			{ID: "m-deprecated", Region: region, Owner: owner, Status: "Deprecated"},
			{ID: "m-full00001", Region: region, Owner: owner, SharedWith: []string{friend}, MaxShares: 1},
		},
	}
}

// shareUnderCPC is a namespaced ImageSharePermission in "default", named
// name (its UID "uid-<name>"), sharing image with account through the
// ClusterProviderConfig "cpc" of clusterConfigAt.
func shareUnderCPC(name, image, account string) *ecsv1beta1.ImageSharePermission {
	cr := &ecsv1beta1.ImageSharePermission{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, UID: types.UID("uid-" + name)}}
	cr.Spec.ForProvider = common.ImageSharePermissionParameters{Region: region, ImageID: image, AccountID: account}
	cr.Spec.ProviderConfigReference = &xpv2.ProviderConfigReference{Kind: alibabacloudv1beta1.ClusterProviderConfigKind, Name: "cpc"}
	// The CRD's default, which the fake API server does not apply.
	cr.Spec.ManagementPolicies = xpv2.ManagementPolicies{xpv2.ManagementActionAll}
	return cr
}

// clusterConfigAt is the ClusterProviderConfig "cpc", pointing at the ECS
// endpoint, and the Secret of canary credentials it names.
func clusterConfigAt(endpoint string) []client.Object {
	return controllertest.ClusterConfigAt(endpoint, canaryKey, canarySecret)
}

// doc is a credentials document.
var doc = controllertest.CredentialsDoc

// echoingECS answers every call with an error whose message repeats the
// request and the credentials the case gives the client (canaryStsKey's),
// as a misbehaving gateway or proxy might.
func echoingECS(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		msg := fmt.Sprintf("The specified parameter is not valid: %s %s %s %s", r.URL.RawQuery, r.Header, canaryStsSec, canaryToken)
		_, _ = fmt.Fprintf(w, `{"RequestId":"R1","Code":"InvalidParameter","Message":%q}`, msg)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// capture collects what the reconciler says: events and logs.
type capture struct {
	mu   sync.Mutex
	text strings.Builder
}

func (c *capture) Event(_ runtime.Object, e event.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Fprintf(&c.text, "event %s %s %s %v\n", e.Type, e.Reason, e.Message, e.Annotations)
}

func (c *capture) WithAnnotations(...string) event.Recorder { return c }

func (c *capture) log(prefix, args string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Fprintf(&c.text, "log %s %s\n", prefix, args)
}

func (c *capture) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.text.String()
}

// TestNoSecretEscapes walks every error path of the resolver and the ECS
// client through the real managed reconciler, with distinctive credentials,
// and checks that none of them appears in the reconcile error, the
// resource's conditions, its events or the debug log, while the path's own
// message does (so each case proves it reached the path).
func TestNoSecretEscapes(t *testing.T) {
	simURL := func(mod func(*ecssim.Config)) func(t *testing.T) string {
		return func(t *testing.T) string {
			cfg := canaryWorld()
			if mod != nil {
				mod(&cfg)
			}
			_, srv := simtest.Serve(t, cfg)
			return srv.URL
		}
	}
	sim := simURL(nil)
	untrustedTLS := func(t *testing.T) string {
		sim, err := ecssim.New(canaryWorld())
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewUnstartedServer(sim.Handler())
		ca, err := testpki.NewCA("not trusted")
		if err != nil {
			t.Fatal(err)
		}
		if srv.TLS, err = ca.ServerTLS("127.0.0.1"); err != nil {
			t.Fatal(err)
		}
		srv.StartTLS()
		t.Cleanup(srv.Close)
		return srv.URL
	}
	credsFile := filepath.Join(t.TempDir(), "credentials")
	if err := os.WriteFile(credsFile, []byte(`{"accessKeyId": "`+canaryKey+`", "accessKeySecret": "`+canarySecret), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CANARY_CREDENTIALS", doc(canaryKey, canarySecret, ""))

	cases := []struct {
		reason string
		// endpoint serves ECS for the case.
		endpoint func(t *testing.T) string
		// doc is the credentials Secret's document.
		doc string
		// spec edits the ClusterProviderConfig the resource uses.
		spec    func(*common.ProviderConfigSpec)
		tenant  bool // use a namespaced ProviderConfig instead
		image   string
		account string
		want    string
	}{
		{reason: "the credentials Secret is missing", endpoint: sim, want: "cannot read credentials (source Secret)"},
		{reason: "the Secret lacks the key", endpoint: sim, doc: doc(canaryKey, canarySecret, ""), spec: func(s *common.ProviderConfigSpec) { s.Credentials.SecretRef.Key = "other" }, want: "credentials are empty"},
		{reason: "the document is not JSON", endpoint: sim, doc: canaryKey + ":" + canarySecret, want: "not a JSON object"},
		{reason: "the document is truncated JSON", endpoint: sim, doc: `{"accessKeyId": "` + canaryKey + `", "accessKeySecret": "` + canarySecret, want: "not a JSON object"},
		{reason: "the secret is not a string", endpoint: sim, doc: `{"accessKeyId": "` + canaryKey + `", "accessKeySecret": ["` + canarySecret + `"]}`, want: "must be a string"},
		{reason: "two spellings disagree", endpoint: sim, doc: `{"accessKeyId": "` + canaryKey + `", "accessKeySecret": "` + canarySecret + `", "secret_key": "` + canaryWrong + `"}`, want: "with different values"},
		{reason: "a file holds a broken document", endpoint: sim, spec: func(s *common.ProviderConfigSpec) {
			s.Credentials = common.ProviderCredentials{Source: xpv2.CredentialsSourceFilesystem, CommonCredentialSelectors: xpv2.CommonCredentialSelectors{Fs: &xpv2.FsSelector{Path: credsFile}}}
		}, want: "not a JSON object"},
		{reason: "a tenant names the provider's environment", endpoint: sim, tenant: true, spec: func(s *common.ProviderConfigSpec) {
			s.Credentials = common.ProviderCredentials{Source: xpv2.CredentialsSourceEnvironment, CommonCredentialSelectors: xpv2.CommonCredentialSelectors{Env: &xpv2.EnvSelector{Name: "CANARY_CREDENTIALS"}}}
		}, want: "may only use source Secret"},
		{reason: "the CA bundle Secret is missing", endpoint: untrustedTLS, doc: doc(canaryKey, canarySecret, ""), spec: func(s *common.ProviderConfigSpec) {
			s.TLS = &common.TLS{CABundleSecretRef: xpv2.SecretKeySelector{SecretReference: xpv2.SecretReference{Namespace: "crossplane-system", Name: "no-ca"}, Key: "ca.crt"}}
		}, want: "does not exist"},
		{reason: "plain http off loopback", endpoint: func(*testing.T) string { return "http://ecs.example.com" }, doc: doc(canaryKey, canarySecret, ""), want: "plain http to a host that is not loopback"},
		{reason: "an untrusted certificate", endpoint: untrustedTLS, doc: doc(canaryKey, canarySecret, ""), want: "presented a certificate that is not trusted"},
		{reason: "nothing listens", endpoint: func(*testing.T) string { return "http://127.0.0.1:1" }, doc: doc(canaryKey, canarySecret, ""), want: "was unreachable"},
		{reason: "ECS does not answer in time", endpoint: simURL(func(c *ecssim.Config) { c.Faults.Latency = ecssim.Duration{Duration: 3 * time.Second} }), doc: doc(canaryKey, canarySecret, ""),
			spec: func(s *common.ProviderConfigSpec) {
				s.Timeouts = &common.Timeouts{Read: &metav1.Duration{Duration: 500 * time.Millisecond}}
			}, want: "did not answer in time"},
		{reason: "ECS echoes the credentials in its message", endpoint: echoingECS, doc: doc(canaryStsKey, canaryStsSec, canaryToken), want: "InvalidParameter: ECS rejected the request as malformed"},
		{reason: "a wrong secret", endpoint: sim, doc: doc(canaryKey, canaryWrong, ""), want: "SignatureDoesNotMatch"},
		{reason: "an unknown key", endpoint: sim, doc: doc("LTAIcanaryNobody", canarySecret, ""), want: "InvalidAccessKeyId.NotFound"},
		{reason: "a token of another key", endpoint: sim, doc: doc(canaryStsKey, canaryStsSec, canaryExpired), want: "InvalidSecurityToken.MismatchWithAccessKey"},
		{reason: "an expired token", endpoint: sim, doc: doc("STS.canaryExpired", canaryStsSec, canaryExpired), want: "InvalidSecurityToken.Expired"},
		{reason: "RAM denies the change", endpoint: sim, doc: doc("LTAIcanaryReadOnly", canaryReadOnly, ""), want: "Forbidden.RAM"},
		{reason: "the image is missing", endpoint: sim, doc: doc(canaryStsKey, canaryStsSec, canaryToken), image: "m-missing01", want: "InvalidImageId.NotFound"},
		{reason: "the quota is full", endpoint: sim, doc: doc(canaryKey, canarySecret, ""), image: "m-full00001", want: "QuotaExceed.ShareImageUser"},
		{reason: "the owner's own account", endpoint: sim, doc: doc(canaryKey, canarySecret, ""), account: owner, want: "InvalidAccount.Forbbiden"},
		{reason: "an account that does not exist", endpoint: sim, doc: doc(canaryKey, canarySecret, ""), account: "4444444444444444", want: "InvalidAccount.NotFound"},
		{reason: "a deprecated image", endpoint: sim, doc: doc(canaryKey, canarySecret, ""), image: "m-deprecated", want: "OperationDenied.InvalidImageStatus"},
		{reason: "ECS fails", endpoint: simURL(func(c *ecssim.Config) { c.Faults.ErrorRate, c.Faults.ErrorCode = 1, ecssim.CodeInternalError }), doc: doc(canaryStsKey, canaryStsSec, canaryToken), want: "InternalError"},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			endpoint := tc.endpoint(t)
			spec := common.ProviderConfigSpec{
				Endpoint: &endpoint,
				Credentials: common.ProviderCredentials{Source: xpv2.CredentialsSourceSecret, CommonCredentialSelectors: xpv2.CommonCredentialSelectors{
					SecretRef: &xpv2.SecretKeySelector{SecretReference: xpv2.SecretReference{Namespace: "crossplane-system", Name: "creds"}, Key: "credentials"},
				}},
			}
			if tc.spec != nil {
				tc.spec(&spec)
			}
			image, account := cmp.Or(tc.image, imageID), cmp.Or(tc.account, stranger)
			cr := shareUnderCPC("canary", image, account)
			objects := []client.Object{cr, &alibabacloudv1beta1.ClusterProviderConfig{ObjectMeta: metav1.ObjectMeta{Name: "cpc"}, Spec: alibabacloudv1beta1.ClusterProviderConfigSpec{ProviderConfigSpec: spec}}}
			if tc.tenant {
				cr.Spec.ProviderConfigReference = &xpv2.ProviderConfigReference{Kind: alibabacloudv1beta1.ProviderConfigKind, Name: "pc"}
				objects = append(objects, &alibabacloudv1beta1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "pc"}, Spec: spec})
			}
			if tc.doc != "" {
				objects = append(objects, &corev1.Secret{
					ObjectMeta: metav1.ObjectMeta{Namespace: "crossplane-system", Name: "creds"},
					Data:       map[string][]byte{"credentials": []byte(tc.doc)},
				})
			}
			seen := reconcileSettled(t, objects, cr, requeue.New(), 0)
			if !strings.Contains(seen, tc.want) {
				t.Fatalf("the reconciler never said %q, so this case did not reach its path:\n%s", tc.want, seen)
			}
			for _, c := range canaries {
				if strings.Contains(seen, c) {
					t.Errorf("a credential (%s) escaped:\n%s", c, seen)
				}
			}
		})
	}
}

// reconcileSettled runs the namespaced ImageSharePermission reconciler, as the
// controller configures it, with debug logging, and returns everything it
// said: the reconcile errors, the resource's conditions (or that it is
// gone), events and logs. A reconcile that queued a share or an unshare is
// followed, once ECS answered and the coalescer woke the resource, by one
// more, which reads the outcome, as in the controller; and then by polls
// more, as the poll interval would.
func reconcileSettled(t *testing.T, objects []client.Object, cr *ecsv1beta1.ImageSharePermission, limiter *requeue.Limiter, polls int) string {
	t.Helper()
	r, kube, said, wakes := newTestReconciler(t, objects, limiter)
	key := types.NamespacedName{Namespace: cr.Namespace, Name: cr.Name}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for range 2 {
		before := len(said.String())
		_, err := r.Reconcile(ctx, reconcile.Request{NamespacedName: key})
		fmt.Fprintf(&said.text, "reconcile error: %v\n", err)
		if !strings.Contains(said.String()[before:], "Successfully requested") {
			break
		}
		select {
		case <-wakes:
		case <-ctx.Done():
			t.Fatalf("the queued change never woke the resource:\n%s", said.String())
		}
	}
	for range polls {
		_, err := r.Reconcile(ctx, reconcile.Request{NamespacedName: key})
		fmt.Fprintf(&said.text, "reconcile error: %v\n", err)
	}
	got := &ecsv1beta1.ImageSharePermission{}
	if err := kube.Get(ctx, key, got); kerrors.IsNotFound(err) {
		fmt.Fprintln(&said.text, "object gone")
		return said.String()
	} else if err != nil {
		t.Fatal(err)
	}
	for _, c := range got.Status.Conditions {
		fmt.Fprintf(&said.text, "condition %s=%s %s: %s\n", c.Type, c.Status, c.Reason, c.Message)
	}
	fmt.Fprintf(&said.text, "atProvider adopted=%t\n", got.Status.AtProvider.Adopted)
	return said.String()
}

// newTestReconciler is the namespaced ImageSharePermission reconciler as
// the controller configures it, over a fake API server holding objects,
// with debug logging into the capture it returns, and the channel the
// coalescer's wakes arrive on.
func newTestReconciler(t *testing.T, objects []client.Object, limiter *requeue.Limiter) (*managed.Reconciler, client.Client, *capture, chan ctrlevent.GenericEvent) {
	t.Helper()
	kube := fake.NewClientBuilder().WithScheme(testScheme(t)).WithObjects(objects...).
		WithStatusSubresource(&ecsv1beta1.ImageSharePermission{}).Build()
	said := &capture{}
	log := logging.NewLogrLogger(funcr.New(said.log, funcr.Options{Verbosity: 10}))
	// Management policies are on, as the provider's flag has them by
	// default.
	o := controller.Options{Logger: log, PollInterval: time.Minute, Features: &feature.Flags{}}
	o.Features.Enable(feature.EnableBetaManagementPolicies)
	wakes := make(chan ctrlevent.GenericEvent, 1)
	r := managed.NewReconciler(&xpfake.Manager{Client: kube, Scheme: kube.Scheme()}, resource.ManagedKind(ecsv1beta1.ImageSharePermissionGroupVersionKind),
		options(kube, config.NewResolver(kube, config.CredentialOptions{}), log, said, o, testClients(o), limiter, wakes)...)
	return r, kube, said, wakes
}

// testClients are the provider's defaults: shared reads, batches, pacing.
func testClients(o controller.Options) *ecsclients.Clients {
	return ecsclients.New(ecsclients.Options{
		NewClient: ecs.New, Coalesce: true, BatchWindow: 10 * time.Millisecond, DescribeRate: 20, ModifyRate: 10,
	}, o.PollInterval)
}

func testScheme(t *testing.T) *runtime.Scheme { return controllertest.Scheme(t) }
