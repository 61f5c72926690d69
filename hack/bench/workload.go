package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	corev1 "k8s.io/api/core/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pcv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/namespaced/alibabacloud/v1beta1"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/devenv"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim"
)

// createAll creates objs concurrently, as `kubectl apply` of a big manifest
// or a composition would, but faster, so that the provider sees them at once.
func createAll(ctx context.Context, kube client.Client, objs []client.Object) error {
	return devenv.ForEach(objs, 64, func(o client.Object) error { return create(ctx, kube, o) })
}

// deleteAll deletes objs concurrently, one request each, as the garbage
// collector or kubectl would: a collection delete of 10,000 objects
// outlasts a client's timeout.
func deleteAll(ctx context.Context, kube client.Client, objs []client.Object) error {
	return devenv.ForEach(objs, 64, func(o client.Object) error {
		if err := kube.Delete(ctx, o); err != nil && !kerrors.IsNotFound(err) {
			return fmt.Errorf("delete %s/%s: %w", o.GetNamespace(), o.GetName(), err)
		}
		return nil
	})
}

// create tries a few times: a busy API server may answer 429 or time out.
func create(ctx context.Context, kube client.Client, o client.Object) error {
	var err error
	for try := range 5 {
		err = kube.Create(ctx, o)
		switch {
		case err == nil, try > 0 && kerrors.IsAlreadyExists(err):
			// An earlier try created it; its answer was lost.
			return nil
		case kerrors.IsInvalid(err) || ctx.Err() != nil:
			return fmt.Errorf("create %s/%s: %w", o.GetNamespace(), o.GetName(), err)
		}
		time.Sleep(time.Duration(try+1) * 200 * time.Millisecond)
	}
	return fmt.Errorf("create %s/%s: %w", o.GetNamespace(), o.GetName(), err)
}

// pollEvery is how often a wait looks: the resolution of every time the
// bench reports.
const pollEvery = 250 * time.Millisecond

// waitFor calls check every pollEvery until it says done; it gives up after
// bound, when ctx ends, or when the provider exits. So that a long wait
// shows its progress, it prints what check says when that has changed, at
// most every ten seconds, and at least every minute.
func waitFor(ctx context.Context, p *devenv.Provider, bound time.Duration, check func(context.Context) (progress string, done bool, err error)) error {
	deadline := time.Now().Add(bound)
	lastPrint, printed := time.Now(), ""
	for {
		progress, done, err := check(ctx)
		switch {
		case err != nil:
			return err
		case done:
			return nil
		case isClosed(p.Done()):
			return fmt.Errorf("%w; last: %s", exited(p), progress)
		case time.Now().After(deadline):
			return fmt.Errorf("not within %v: %s", bound, progress)
		case time.Since(lastPrint) >= time.Minute || time.Since(lastPrint) >= 10*time.Second && progress != printed:
			fmt.Printf("bench:   ... %s\n", progress)
			lastPrint, printed = time.Now(), progress
		}
		select {
		case <-time.After(pollEvery):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// providerUp says done once the provider has taken charge of the
// ProviderConfig: its controllers have started, without a single ECS call.
func providerUp(kube client.Client, ns string) func(context.Context) (string, bool, error) {
	return func(ctx context.Context) (string, bool, error) {
		pc := &pcv1beta1.ProviderConfig{}
		if err := kube.Get(ctx, client.ObjectKey{Namespace: ns, Name: configName}, pc); err != nil {
			return "", false, err
		}
		return "the provider has not yet taken charge of the ProviderConfig", len(pc.Finalizers) > 0, nil
	}
}

// allReady says done once every one of want objects of kind k in ns is
// Ready.
func allReady(kube client.Client, ns string, k kind, want int) func(context.Context) (string, bool, error) {
	return func(ctx context.Context) (string, bool, error) {
		l := k.list()
		if err := kube.List(ctx, l, client.InNamespace(ns)); err != nil {
			return "", false, err
		}
		ready := 0
		for _, o := range l.GetItems() {
			if o.GetCondition(xpv2.TypeReady).Status == corev1.ConditionTrue {
				ready++
			}
		}
		return fmt.Sprintf("%d of %d %ss Ready", ready, want, k.name), ready == want, nil
	}
}

// allGone says done once no object of kind k is left in ns and ECS holds
// no share of any image.
func allGone(kube client.Client, ns string, k kind, sim *ecssim.Simulator, images []string) func(context.Context) (string, bool, error) {
	return func(ctx context.Context) (string, bool, error) {
		l := k.list()
		if err := kube.List(ctx, l, client.InNamespace(ns)); err != nil {
			return "", false, err
		}
		shares := 0
		for _, image := range images {
			got, err := sim.SharedWith(region, image)
			if err != nil {
				return "", false, err
			}
			shares += len(got)
		}
		left := len(l.GetItems())
		return fmt.Sprintf("%d objects and %d shares left", left, shares), left == 0 && shares == 0, nil
	}
}

// rolledOut says done once every image's new version is shared with every
// account and the image itself with none.
func rolledOut(sim *ecssim.Simulator, s settings) func(context.Context) (string, bool, error) {
	return func(context.Context) (string, bool, error) {
		pending := 0
		for i := range s.images {
			newer, err := sim.SharedWith(region, newVersionID(i))
			if err != nil {
				return "", false, err
			}
			older, err := sim.SharedWith(region, imageID(i))
			if err != nil {
				return "", false, err
			}
			if len(newer) != s.accounts || len(older) != 0 {
				pending++
			}
		}
		return fmt.Sprintf("%d of %d families rolled out", s.images-pending, s.images), pending == 0, nil
	}
}

// sharesMismatch says how ECS differs from every image shared with every
// account, or "" when it does not.
func sharesMismatch(sim *ecssim.Simulator, s settings) string {
	for i := range s.images {
		got, err := sim.SharedWith(region, imageID(i))
		if err != nil {
			return err.Error()
		}
		for j := range s.accounts {
			if !slices.Contains(got, accountID(j)) {
				return fmt.Sprintf("%s is not shared with %s", imageID(i), accountID(j))
			}
		}
		if len(got) != s.accounts {
			return fmt.Sprintf("%s is shared with %d accounts, want %d", imageID(i), len(got), s.accounts)
		}
	}
	return ""
}

// sleep waits d unless ctx ends or the provider exits first.
func sleep(ctx context.Context, p *devenv.Provider, d time.Duration) error {
	select {
	case <-time.After(d):
		return nil
	case <-p.Done():
		return exited(p)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// exited is the error of a provider that exited under a wait.
func exited(p *devenv.Provider) error {
	if err := p.Err(); err != nil {
		return fmt.Errorf("the provider exited: %w", err)
	}
	return errors.New("the provider exited")
}
