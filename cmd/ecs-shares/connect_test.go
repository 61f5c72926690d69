package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/ecs"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim/simtest"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/importer"
)

// TestCredentialsFile: without a cluster, import ecs reads ECS with the
// keys of a file written as a credentials Secret holds them, and says what
// is wrong with one that is not.
func TestCredentialsFile(t *testing.T) {
	const owner, partner = "1234567890123456", "2222222222222222"
	_, srv := simtest.Serve(t, ecssim.Config{
		Accounts: []ecssim.Account{{ID: owner, AccessKeys: []ecssim.AccessKey{{ID: "LTAIfileOwner", Secret: "fileSecret"}}}, {ID: partner}},
		Images:   []ecssim.Image{{ID: "m-file0001", Region: "cn-hangzhou", Owner: owner, SharedWith: []string{partner}}},
	})
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "good.json"), filepath.Join(dir, "bad.json")
	if err := os.WriteFile(good, []byte(`{"accessKeyId": "LTAIfileOwner", "accessKeySecret": "fileSecret"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte(`{"accessKeySecret": "fileSecret"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	out := &output{}
	src := &ecsSource{credentialsFile: good, endpoint: srv.URL, describeRate: 20}
	client, err := src.client(context.Background(), out, "cn-hangzhou")
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	got, err := importer.FromECS(context.Background(), client, "cn-hangzhou", ecs.ImageFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]importer.Share{{Region: "cn-hangzhou", ImageID: "m-file0001", AccountID: partner}}, got); diff != "" {
		t.Errorf("the file's keys read the account's shares: -want, +got:\n%s", diff)
	}

	src.credentialsFile = bad
	if _, err := src.client(context.Background(), out, "cn-hangzhou"); err == nil || !strings.Contains(err.Error(), bad) || strings.Contains(err.Error(), "fileSecret") {
		t.Errorf("a file without a key ID: error = %v, want one naming the file and not its secret", err)
	}
	if _, err := (&ecsSource{}).client(context.Background(), out, "cn-hangzhou"); err == nil || !strings.Contains(err.Error(), "--kubeconfig") {
		t.Errorf("neither a kubeconfig nor a file: error = %v, want one saying how to read ECS", err)
	}
}
