// Command provider runs the Crossplane provider for Alibaba Cloud ECS image
// sharing.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/alecthomas/kingpin/v2"
	changelogsv1alpha1 "github.com/crossplane/crossplane-runtime/v2/apis/changelogs/proto/v1alpha1"
	"github.com/crossplane/crossplane-runtime/v2/pkg/controller"
	"github.com/crossplane/crossplane-runtime/v2/pkg/feature"
	"github.com/crossplane/crossplane-runtime/v2/pkg/gate"
	"github.com/crossplane/crossplane-runtime/v2/pkg/logging"
	"github.com/crossplane/crossplane-runtime/v2/pkg/ratelimiter"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/customresourcesgate"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	"github.com/crossplane/crossplane-runtime/v2/pkg/statemetrics"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	authv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	// The runtime image has no CA bundle: trust Mozilla's roots when the
	// system has none, so that https ECS endpoints verify.
	_ "golang.org/x/crypto/x509roots/fallback"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/apis"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/alisdk"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/ecs"
	ecscontroller "github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/controller"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/controller/config"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/controller/ecsclients"
	ecsmetrics "github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/metrics"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/version"
)

func main() {
	var (
		app            = kingpin.New(filepath.Base(os.Args[0]), "Alibaba Cloud ECS image sharing support for Crossplane.").DefaultEnvars()
		debug          = app.Flag("debug", "Run with debug logging.").Short('d').Bool()
		leaderElection = app.Flag("leader-election", "Use leader election for the controller manager.").Short('l').Default("false").Envar("LEADER_ELECTION").Bool()
		leaseDuration  = app.Flag("leader-election-lease-duration", "How long a standby replica waits before taking over from a leader that stopped renewing.").Default("60s").Duration()
		renewDeadline  = app.Flag("leader-election-renew-deadline", "How long the leader keeps trying to renew before it gives up leading; less than the lease duration.").Default("50s").Duration()
		retryPeriod    = app.Flag("leader-election-retry-period", "How often replicas try to acquire or renew the lease.").Default("2s").Duration()
		leaseNamespace = app.Flag("leader-election-namespace", "Namespace of the leader election lease; empty means the pod's own, which only exists in a cluster.").Envar("POD_NAMESPACE").String()
		metricsAddr    = app.Flag("metrics-bind-address", "Address to serve Prometheus metrics on; 0 disables them.").Default(":8080").String()
		pprofAddr      = app.Flag("pprof-bind-address", "Address to serve Go's pprof profiles on (what the provider spends memory and CPU on), such as 127.0.0.1:6060; empty, the default, serves none.").String()

		syncInterval            = app.Flag("sync", "How often all resources will be double-checked for drift from the desired state.").Short('s').Default("1h").Duration()
		pollInterval            = app.Flag("poll", "How often individual resources will be checked for drift from the desired state.").Default("1m").Duration()
		pollStateMetricInterval = app.Flag("poll-state-metric", "How often the state metrics are recorded.").Default("5s").Duration()
		maxReconcileRate        = app.Flag("max-reconcile-rate", "The global maximum rate per second at which resources may be checked for drift from the desired state, and how many reconcile at once.").Default("100").Int()

		coalesce         = app.Flag("coalesce-ecs-calls", "Let the resources of one image share one ECS listing read and batch their shares into few calls. --no-coalesce-ecs-calls makes every resource call ECS alone.").Default("true").Bool()
		listingFreshness = app.Flag("listing-freshness", "How long one read of an image's shares answers for all its resources; 0 means the poll interval plus its jitter (a tenth), so that at rest each image is read at most once per poll.").Default("0").Duration()
		batchWindow      = app.Flag("batch-window", "How long a batch of shares waits for the next share of its image before its ModifyImageSharePermission call (at most 10 accounts per call); each share that joins restarts it, so a stream of shares fills calls however slowly it comes. While calls wait for turns under --ecs-modify-rate, a batch waits for more, up to 19 windows from its oldest share; a call takes the shares waiting when its turn comes.").Default("250ms").Duration()
		describeRate     = app.Flag("ecs-describe-rate", "DescribeImageSharePermission calls per second to start with, per account (or configuration, until its identity is verified) and region; cut when ECS throttles, raised again under demand.").Default("20").Float64()
		modifyRate       = app.Flag("ecs-modify-rate", "ModifyImageSharePermission calls per second to start with, per account (or configuration, until its identity is verified) and region; adapts like --ecs-describe-rate.").Default("10").Float64()

		cacheSecrets     = app.Flag("cache-secrets", "Cache every Secret in the cluster: faster credential reads, memory grows with the cluster's Secrets. Off, each read of a credentials or CA Secret asks the API server.").Default("false").Bool()
		tenantEndpoints  = app.Flag("tenant-endpoints", "Where namespaced ProviderConfigs, which tenants write, may send requests (endpoint and stsEndpoint), and where source RRSA may send the pod's token: comma-separated hosts, IP addresses or *.domain, each with an optional :port. ClusterProviderConfigs and cluster-scoped ProviderConfigs are the operator's and are not restricted.").Default(alisdk.DefaultTenantEndpoints).String()
		metadataEndpoint = app.Flag("ecs-metadata-endpoint", "The ECS instance metadata service that ClusterProviderConfigs with credentials.source ECSRole ask for the instance's RAM role. Only for testing: tenants cannot choose it.").Default("http://100.100.100.200").String()

		enableChangeLogs = app.Flag("enable-changelogs", "Send an entry for every create, update and delete the provider makes in ECS (drift corrections say so) to the change log sidecar Crossplane adds to the provider's pod.").Default("false").Bool()
		changeLogsSocket = app.Flag("changelogs-socket-path", "The change log sidecar's Unix socket, with --enable-changelogs.").Default("/var/run/changelogs/changelogs.sock").String()

		enableManagementPolicies = app.Flag("enable-management-policies", "Enable support for management policies.").Default("true").Envar("ENABLE_MANAGEMENT_POLICIES").Bool()
	)
	app.Version(version.Version)
	kingpin.MustParse(app.Parse(os.Args[1:]))

	zl := zap.New(zap.UseDevMode(*debug))
	log := logging.NewLogrLogger(zl.WithName("provider-alibabacloud-ecs"))
	log.Info("Starting", "version", version.Version)
	if *debug {
		// controller-runtime's own logs are noisy: only show them when debugging.
		ctrl.SetLogger(zl)
	} else {
		ctrl.SetLogger(zap.New(zap.WriteTo(io.Discard)))
	}

	cfg, err := ctrl.GetConfig()
	kingpin.FatalIfError(err, "Cannot get API server rest config")

	// The cache's per-object options need every kind registered up front.
	scheme := runtime.NewScheme()
	kingpin.FatalIfError(clientgoscheme.AddToScheme(scheme), "Cannot add Kubernetes APIs to scheme")
	kingpin.FatalIfError(apiextensionsv1.AddToScheme(scheme), "Cannot add apiextensions/v1 to scheme")
	kingpin.FatalIfError(apis.AddToScheme(scheme), "Cannot add Alibaba Cloud APIs to scheme")

	mgr, err := ctrl.NewManager(ratelimiter.LimitRESTConfig(cfg, *maxReconcileRate), ctrl.Options{
		Scheme:           scheme,
		Metrics:          metricsserver.Options{BindAddress: *metricsAddr},
		PprofBindAddress: *pprofAddr,
		Client:           clientOptions(*cacheSecrets),
		Cache: cache.Options{
			SyncPeriod: syncInterval,
			// Nothing reads managed fields, and with one object per share
			// they were a good part of what the cache holds. Writes of a
			// cached object without them leave the API server's as they
			// are.
			DefaultTransform: cache.TransformStripManagedFields(),
			// The CRD gate watches CRDs; their schemas are large and unused.
			ByObject: map[client.Object]cache.ByObject{
				&apiextensionsv1.CustomResourceDefinition{}: {Transform: customresourcesgate.TransformStripCRDSchema},
			},
		},
		LeaderElection:             *leaderElection,
		LeaderElectionID:           "crossplane-leader-election-provider-alibabacloud-ecs",
		LeaderElectionNamespace:    *leaseNamespace,
		LeaderElectionResourceLock: resourcelock.LeasesResourceLock,
		LeaseDuration:              leaseDuration,
		RenewDeadline:              renewDeadline,
		RetryPeriod:                retryPeriod,
	})
	kingpin.FatalIfError(err, "Cannot create controller manager")

	mrMetrics := managed.NewMRMetricRecorder()
	stateMetrics := statemetrics.NewMRStateMetrics()
	metrics.Registry.MustRegister(mrMetrics, stateMetrics)
	ecsMetrics := ecsmetrics.New()
	kingpin.FatalIfError(ecsMetrics.Register(metrics.Registry), "Cannot register ECS metrics")

	o := controller.Options{
		Logger:                  log,
		MaxConcurrentReconciles: *maxReconcileRate,
		PollInterval:            *pollInterval,
		GlobalRateLimiter:       ratelimiter.NewGlobal(*maxReconcileRate),
		Features:                &feature.Flags{},
		MetricOptions: &controller.MetricOptions{
			PollStateMetricInterval: *pollStateMetricInterval,
			MRMetrics:               mrMetrics,
			MRStateMetrics:          stateMetrics,
		},
	}
	if *enableChangeLogs {
		o.ChangeLogOptions = changeLogs(*changeLogsSocket)
		log.Info("Change logs enabled", "socket", *changeLogsSocket)
	}
	if *enableManagementPolicies {
		o.Features.Enable(feature.EnableBetaManagementPolicies)
		log.Info("Beta feature enabled", "flag", feature.EnableBetaManagementPolicies)
	}

	tenants, err := alisdk.ParseEndpointPolicy(*tenantEndpoints)
	kingpin.FatalIfError(err, "Cannot read --tenant-endpoints")

	e := ecsclients.Options{
		NewClient:        ecs.New,
		Coalesce:         *coalesce,
		ListingFreshness: *listingFreshness,
		BatchWindow:      *batchWindow,
		DescribeRate:     *describeRate,
		ModifyRate:       *modifyRate,
		Metrics:          ecsMetrics,
	}
	// The pod's environment reaches only ClusterProviderConfigs that ask for
	// source RRSA, as its defaults.
	// Every ECS and STS call names this process, so that calls in Alibaba
	// Cloud's records (ActionTrail) can be traced to a provider version and
	// to one replica.
	userAgent := fmt.Sprintf("provider-alibabacloud-ecs/%s (pid %d)", version.Version, os.Getpid())
	c := config.CredentialOptions{LookupEnv: os.LookupEnv, MetadataEndpoint: *metadataEndpoint, UserAgent: userAgent, TenantEndpoints: tenants}

	// Safe start: Crossplane may install our managed resource definitions
	// inactive; controllers then start only once their CRD exists. That needs
	// permission to watch CRDs, which older Crossplane versions do not grant.
	// Bounded, so that an unreachable API server fails the start instead of hanging it.
	checkCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	canSafeStart, err := canWatchCRDs(checkCtx, mgr.GetClient())
	cancel()
	kingpin.FatalIfError(err, "Cannot check whether CRDs can be watched")
	if canSafeStart {
		o.Gate = new(gate.Gate[schema.GroupVersionKind])
		kingpin.FatalIfError(customresourcesgate.Setup(mgr, o), "Cannot set up the CRD gate")
		kingpin.FatalIfError(ecscontroller.SetupGated(mgr, o, e, c), "Cannot set up controllers")
	} else {
		log.Info("No permission to watch CRDs: safe start is off, all controllers start now")
		kingpin.FatalIfError(ecscontroller.Setup(mgr, o, e, c), "Cannot set up controllers")
	}
	kingpin.FatalIfError(mgr.Start(ctrl.SetupSignalHandler()), "Cannot start controller manager")
}

// changeLogs sends the managed reconcilers' change log entries to the
// sidecar's socket. The connection is made when the first entry is sent,
// and each entry waits up to 10 s for it (crossplane-runtime's logger sends
// with WaitForReady), so that a sidecar a little slower to start than the
// provider loses nothing; an entry it cannot take by then is logged and
// dropped.
func changeLogs(socket string) *controller.ChangeLogOptions {
	conn, err := grpc.NewClient("unix://"+socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	kingpin.FatalIfError(err, "Cannot create the change log client for %s", socket)
	return &controller.ChangeLogOptions{ChangeLogger: managed.NewGRPCChangeLogger(
		changelogsv1alpha1.NewChangeLogServiceClient(conn),
		managed.WithProviderVersion("provider-alibabacloud-ecs:"+version.Version))}
}

// canWatchCRDs asks the API server; writes bypass the not yet started cache.
func canWatchCRDs(ctx context.Context, c client.Client) (bool, error) {
	for _, verb := range []string{"get", "list", "watch"} {
		sar := &authv1.SelfSubjectAccessReview{Spec: authv1.SelfSubjectAccessReviewSpec{
			ResourceAttributes: &authv1.ResourceAttributes{Group: "apiextensions.k8s.io", Resource: "customresourcedefinitions", Verb: verb},
		}}
		if err := c.Create(ctx, sar); err != nil {
			return false, err
		}
		if !sar.Status.Allowed {
			return false, nil
		}
	}
	return true, nil
}

// clientOptions reads Secrets straight from the API server unless told to
// cache them. The provider reads only the few Secrets its configurations
// name, but a cache would hold every Secret in the cluster from the first
// read on: memory grows with the cluster (Helm keeps releases in Secrets of
// up to 1 MiB), and every tenant's secret material sits in the heap.
func clientOptions(cacheSecrets bool) client.Options {
	if cacheSecrets {
		return client.Options{}
	}
	return client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}}}}
}
