package chaos

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim"
)

const region = "cn-hangzhou"

// readTimeout is every ProviderConfig's spec.timeouts.read: short, so that a
// hung call costs the provider little and the run sees many of them.
const readTimeout = 2 * time.Second

// tenant is one Alibaba Cloud account with its own credentials and images.
type tenant struct {
	name, account, keyID, secret string
	images                       []string
}

// share is one ImageSharePermission the run creates and what it asks of ECS.
type share struct {
	name, namespace string // namespace "" is the cluster-scoped kind
	// configKind and config name its provider configuration.
	configKind, config string
	image, account     string
}

func (s share) key() string { return s.namespace + "/" + s.name }

// stuck is a share that can never succeed, and the ECS error code its
// condition must name. Each has an image of its own, so that the simulator
// attributes its calls to it.
type stuck struct {
	share
	code string
}

// world is everything a run creates, derived from the seed.
type world struct {
	tenants [2]tenant
	// foreign are shares made outside Kubernetes, per image: they must
	// survive everything.
	foreign map[string][]string
	healthy []share
	stuck   []stuck
	// wrongKeySecret and ramKeyID configure two of the stuck shares.
	wrongKeyID, wrongKeySecret, ramKeyID, ramKeySecret string
}

// Names of the provider configurations the run creates.
const (
	nsA, nsB      = "tenant-a", "tenant-b"
	pcTenantA     = "tenant-a"  // ProviderConfig in nsA
	pcTenantB     = "tenant-b"  // ClusterProviderConfig, and cluster ProviderConfig
	pcWrongKey    = "wrong-key" // ProviderConfig in nsA
	pcRAMDenied   = "ram-denied"
	kindPC        = "ProviderConfig"
	kindClusterPC = "ClusterProviderConfig"
	// sharesPerImage keeps every image well inside ECS's default quota of 50.
	sharesPerImage = 35
)

func newWorld(seed int64, resources int) world {
	rng := rand.New(rand.NewPCG(uint64(seed), 1))
	secret := func() string { return fmt.Sprintf("chaos-secret-%016x", rng.Uint64()) }
	w := world{foreign: map[string][]string{}}
	w.tenants[0] = tenant{name: "a", account: "1000000000000001", keyID: "LTAIchaosTenantA0001", secret: secret()}
	w.tenants[1] = tenant{name: "b", account: "2000000000000002", keyID: "LTAIchaosTenantB0001", secret: secret()}
	w.wrongKeyID, w.wrongKeySecret = "LTAIchaosWrongKey001", secret()
	w.ramKeyID, w.ramKeySecret = "LTAIchaosRamDenied01", secret()

	perTenant := (resources + 1) / 2
	images := max(2, (perTenant+sharesPerImage-1)/sharesPerImage)
	for ti := range w.tenants {
		t := &w.tenants[ti]
		for i := range images {
			id := fmt.Sprintf("m-chaos%s%03d", t.name, i)
			t.images = append(t.images, id)
			w.foreign[id] = []string{fmt.Sprintf("6%02d%013d", ti, i)}
		}
	}
	for i := range resources {
		t := w.tenants[i%2]
		s := share{name: fmt.Sprintf("share-%04d", i), image: t.images[(i/2)%len(t.images)], account: fmt.Sprintf("5%015d", i)}
		switch {
		case i%2 == 0:
			s.namespace, s.configKind, s.config = nsA, kindPC, pcTenantA
		case i%4 == 1:
			s.namespace, s.configKind, s.config = nsB, kindClusterPC, pcTenantB
		default:
			s.configKind, s.config = kindPC, pcTenantB
		}
		w.healthy = append(w.healthy, s)
	}

	a := w.tenants[0]
	stuckShare := func(name, config, image, account string) share {
		return share{name: "stuck-" + name, namespace: nsA, configKind: kindPC, config: config, image: image, account: account}
	}
	w.stuck = []stuck{
		{stuckShare("image-missing", pcTenantA, "m-chaosgone01", "4000000000000001"), ecssim.CodeImageNotFound},
		{stuckShare("own-account", pcTenantA, "m-chaosown001", a.account), ecssim.CodeAccountForbidden},
		{stuckShare("wrong-key", pcWrongKey, "m-chaoswkey01", "4000000000000003"), ecssim.CodeSignatureMismatch},
		{stuckShare("quota-full", pcTenantA, "m-chaosfull01", "4000000000000004"), ecssim.CodeQuotaShareImageUser},
		{stuckShare("ram-denied", pcRAMDenied, "m-chaosram001", "4000000000000005"), ecssim.CodeForbiddenRAM},
	}
	// The full image is at its quota with shares made elsewhere.
	w.foreign["m-chaosfull01"] = []string{"6990000000000001", "6990000000000002", "6990000000000003"}
	return w
}

// fullImageQuota is the share quota of the stuck quota-full image.
const fullImageQuota = 3

// simConfig is the simulator's seed: both tenants, their images with the
// foreign shares, and the keys of the stuck shares. It carries no faults:
// the run turns them on once the objects it starts with exist.
func (w world) simConfig() ecssim.Config {
	a, b := w.tenants[0], w.tenants[1]
	cfg := ecssim.Config{
		AcceptAnyAccount: true,
		Accounts: []ecssim.Account{
			{ID: a.account, AccessKeys: []ecssim.AccessKey{
				{ID: a.keyID, Secret: a.secret},
				// The wrong-key Secret holds this ID with another secret.
				{ID: w.wrongKeyID, Secret: w.wrongKeySecret},
				{ID: w.ramKeyID, Secret: w.ramKeySecret, AllowedActions: []string{"DescribeImageSharePermission"}},
			}},
			{ID: b.account, AccessKeys: []ecssim.AccessKey{{ID: b.keyID, Secret: b.secret}}},
		},
	}
	for _, t := range w.tenants {
		for _, id := range t.images {
			cfg.Images = append(cfg.Images, ecssim.Image{ID: id, Region: region, Owner: t.account, SharedWith: w.foreign[id]})
		}
	}
	for _, s := range w.stuck {
		switch s.code {
		case ecssim.CodeImageNotFound:
			// Its image does not exist.
		case ecssim.CodeQuotaShareImageUser:
			cfg.Images = append(cfg.Images, ecssim.Image{ID: s.image, Region: region, Owner: a.account,
				SharedWith: w.foreign[s.image], MaxShares: fullImageQuota})
		default:
			cfg.Images = append(cfg.Images, ecssim.Image{ID: s.image, Region: region, Owner: a.account})
		}
	}
	return cfg
}

// chaosFaults is the weather of the run. The rate limits are lower than the
// provider's demand when many objects start at once (a creation wave, a
// restart) and above it in steady state, so throttling comes in bursts.
// With shared reads, batched writes and its own pacing the provider makes
// few calls (about 250 in the short run), at rates that start at 20
// Describe and 10 Modify calls per second: the limits sit well below those
// so that the pacer must find them, and hangs are 5% so that some calls
// hang at all.
func chaosFaults(seed int64) ecssim.Faults {
	return ecssim.Faults{
		Seed:          seed,
		ErrorRate:     0.05,
		VisibilityLag: ecssim.Duration{Duration: 2 * time.Second},
		HangRate:      0.05,
		HangFor:       ecssim.Duration{Duration: 5 * readTimeout},
		RateLimits: ecssim.RateLimits{
			PerAccount: &ecssim.Rate{PerSecond: 3, Burst: 6},
			PerAction:  map[string]ecssim.Rate{"ModifyImageSharePermission": {PerSecond: 2, Burst: 4}},
		},
	}
}

// desired is, per image, the accounts ECS must share it with when every
// healthy share exists: the foreign shares and ours.
func (w world) desired(withOurs bool) map[string][]string {
	out := map[string][]string{}
	for img, accounts := range w.foreign {
		out[img] = append([]string{}, accounts...)
	}
	for _, s := range w.stuck {
		if s.code != ecssim.CodeImageNotFound {
			out[s.image] = append([]string{}, w.foreign[s.image]...)
		}
	}
	if withOurs {
		for _, s := range w.healthy {
			out[s.image] = append(out[s.image], s.account)
		}
	}
	return out
}
