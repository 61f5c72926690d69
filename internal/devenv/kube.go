package devenv

import (
	"errors"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/apis"
)

// Scheme knows Kubernetes' own kinds and the provider's.
func Scheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return nil, err
	}
	if err := apis.AddToScheme(s); err != nil {
		return nil, err
	}
	return s, nil
}

// RESTConfig is the control plane's config with room for bursts of
// requests: client-go's default of 5 a second would take minutes to create a
// thousand objects.
func (c *ControlPlane) RESTConfig(qps float32, burst int, timeout time.Duration) *rest.Config {
	rc := rest.CopyConfig(c.Config)
	rc.QPS, rc.Burst, rc.Timeout = qps, burst, timeout
	return rc
}

// ForEach runs fn on every item with this many workers, and returns every
// error they met.
func ForEach[T any](items []T, workers int, fn func(T) error) error {
	ch := make(chan T)
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			for it := range ch {
				if err := fn(it); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	for _, it := range items {
		ch <- it
	}
	close(ch)
	wg.Wait()
	return errors.Join(errs...)
}
