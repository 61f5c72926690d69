package e2e

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	changelogsv1alpha1 "github.com/crossplane/crossplane-runtime/v2/apis/changelogs/proto/v1alpha1"
	"google.golang.org/grpc"
)

// changeLogSidecar stands in for Crossplane's change log sidecar: a gRPC
// server on a Unix socket, as the sidecar serves, that keeps every entry
// the provider sends.
type changeLogSidecar struct {
	changelogsv1alpha1.UnimplementedChangeLogServiceServer
	srv *grpc.Server

	mu      sync.Mutex
	entries []*changelogsv1alpha1.ChangeLogEntry
}

func startChangeLogSidecar(socket string) (*changeLogSidecar, error) {
	l, err := net.Listen("unix", socket)
	if err != nil {
		return nil, fmt.Errorf("cannot serve change logs on %s: %w", socket, err)
	}
	s := &changeLogSidecar{srv: grpc.NewServer()}
	changelogsv1alpha1.RegisterChangeLogServiceServer(s.srv, s)
	go func() { _ = s.srv.Serve(l) }()
	return s, nil
}

func (s *changeLogSidecar) SendChangeLog(_ context.Context, req *changelogsv1alpha1.SendChangeLogRequest) (*changelogsv1alpha1.SendChangeLogResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.entries = append(s.entries, req.GetEntry())
	return &changelogsv1alpha1.SendChangeLogResponse{}, nil
}

func (s *changeLogSidecar) stop() { s.srv.Stop() }

// of returns the entries of the object kind/name so far, as
// "OPERATION_TYPE_… error=… driftCorrection=…" lines.
func (s *changeLogSidecar) of(kind, name string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, e := range s.entries {
		if e.GetKind() != kind || e.GetName() != name {
			continue
		}
		out = append(out, fmt.Sprintf("%s external-name=%s error=%s driftCorrection=%s",
			e.GetOperation(), e.GetExternalName(), e.GetErrorMessage(), e.GetAdditionalDetails()["driftCorrection"]))
	}
	return out
}

// testChangeLogs: with --enable-changelogs, every create, update and
// delete the provider makes in ECS reaches the sidecar, and a correction
// of drift says so; and the object's events tell the drift and the
// correction.
func testChangeLogs(t *testing.T) {
	const image = "m-changelog1"
	kubectl(t, fmt.Sprintf(`apiVersion: ecs.alibabacloud.m.crossplane.io/v1beta1
kind: ImageSharing
metadata:
  name: changelogs
  namespace: default
spec:
  forProvider:
    region: cn-hangzhou
    imageId: %s
    accounts: ["%s"]
`, image, partner)+"---\n"+share(true, "changelogs", image, otherPartner, ""), "apply", "-f", "-")
	waitReady(t, namespacedSharing, "default", "changelogs")
	waitReady(t, namespacedISP, "default", "changelogs")

	// Past the share's creation grace period, so that its absence is
	// drift; the other scenarios run meanwhile.
	time.Sleep(creationGracePeriod)
	if err := sim.Share("cn-hangzhou", image, false, partner); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*poll+10*time.Second, func() string {
		if !slices.Contains(sharedWith(t, "cn-hangzhou", image), partner) {
			return "the ImageSharing did not share the image with " + partner + " again"
		}
		return ""
	})
	kubectl(t, "", "delete", namespacedSharing+","+namespacedISP, "changelogs", "-n", "default", "--wait=true", "--timeout=60s")

	correction := "image " + image + " no longer shared with account " + partner
	eventually(t, 10*time.Second, func() string {
		want := map[string][]string{
			"ImageSharing": {
				"OPERATION_TYPE_UPDATE external-name=" + image + " error= driftCorrection=",
				"OPERATION_TYPE_UPDATE external-name=" + image + " error= driftCorrection=" + correction,
				"OPERATION_TYPE_DELETE external-name=" + image + " error= driftCorrection=",
			},
			"ImageSharePermission": {
				"OPERATION_TYPE_CREATE external-name=" + image + ":" + otherPartner + " error= driftCorrection=",
				"OPERATION_TYPE_DELETE external-name=" + image + ":" + otherPartner + " error= driftCorrection=",
			},
		}
		for kind, entries := range want {
			got := changeLogs.of(kind, "changelogs")
			for _, e := range entries {
				if !slices.Contains(got, e) {
					return fmt.Sprintf("the %s's change log lacks %q; it has:\n%s", kind, e, strings.Join(got, "\n"))
				}
			}
		}
		return ""
	})

	events := kubectl(t, "", "get", "events", "-n", "default", "--field-selector", "involvedObject.name=changelogs,involvedObject.kind=ImageSharing", "-o", "custom-columns=REASON:.reason,MESSAGE:.message", "--no-headers")
	for _, want := range []string{"DriftDetected", correction + ", a change this resource did not make: it corrects that now", "DriftCorrected"} {
		if !strings.Contains(events, want) {
			t.Errorf("the ImageSharing's events lack %q:\n%s", want, events)
		}
	}
}
