package xp

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// The certificates work as core and a function use them: a mutual TLS
// handshake to 127.0.0.1, each side verifying the other against the CA.
func TestPKI(t *testing.T) {
	dir := t.TempDir()
	coreDir, fnDir := filepath.Join(dir, "core"), filepath.Join(dir, "fn")
	if err := writePKI(coreDir, fnDir); err != nil {
		t.Fatal(err)
	}
	load := func(dir string) (tls.Certificate, *x509.CertPool) {
		t.Helper()
		cert, err := tls.LoadX509KeyPair(filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key"))
		if err != nil {
			t.Fatal(err)
		}
		ca, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
		if err != nil {
			t.Fatal(err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(ca) {
			t.Fatalf("%s/ca.crt holds no certificate", dir)
		}
		return cert, pool
	}
	serverCert, clientCAs := load(fnDir)
	clientCert, rootCAs := load(coreDir)

	// The function SDK's server configuration (function-sdk-go sdk.go).
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{serverCert},
		ClientCAs: clientCAs, ClientAuth: tls.RequireAndVerifyClientCert,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	served := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			err = c.(*tls.Conn).Handshake()
			_ = c.Close()
		}
		served <- err
	}()
	// Core's client configuration (crossplane-runtime LoadMTLSConfig).
	c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{
		MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{clientCert}, RootCAs: rootCAs,
	})
	if err != nil {
		t.Fatalf("core's side of the handshake: %v", err)
	}
	_ = c.Close()
	if err := <-served; err != nil {
		t.Fatalf("the function's side of the handshake: %v", err)
	}
}

// Package files pushed under a name with the crossplane CLI, as make
// publish pushes them, are one image index in the loopback registry (over
// plain http, as Crossplane pulls it), with each file's image under its
// platform.
func TestPublish(t *testing.T) {
	cli := os.Getenv("CROSSPLANE")
	if cli == "" {
		t.Skip("CROSSPLANE, the crossplane CLI that make builds, is not set")
	}
	dir := t.TempDir()
	w := &World{logs: dir, opts: Options{Dir: dir}}
	if err := w.serveRegistry(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = w.Close() }()
	var files []string
	for _, arch := range []string{"amd64", "arm64"} {
		img, err := random.Image(1024, 2)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		cfg = cfg.DeepCopy()
		cfg.OS, cfg.Architecture = "linux", arch
		if img, err = mutate.ConfigFile(img, cfg); err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(dir, "pkg-linux_"+arch+".xpkg")
		if err := tarball.WriteToFile(file, name.MustParseReference("registry.example.org/platform/pkg:v0.1.0"), img); err != nil {
			t.Fatal(err)
		}
		files = append(files, file)
	}
	if err := w.Publish(t.Context(), cli, files, "platform/pkg:v0.1.0"); err != nil {
		t.Fatal(err)
	}
	platforms, err := w.Platforms(t.Context(), "platform/pkg:v0.1.0")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"linux/amd64", "linux/arm64"}, platforms); diff != "" {
		t.Errorf("the index's platforms (-want +got):\n%s", diff)
	}
	// A node of each architecture pulls that architecture's image.
	ref, err := name.ParseReference(w.Registry + "/platform/pkg:v0.1.0")
	if err != nil {
		t.Fatal(err)
	}
	for _, platform := range platforms {
		goos, arch, _ := strings.Cut(platform, "/")
		img, err := remote.Image(ref, remote.WithPlatform(v1.Platform{OS: goos, Architecture: arch}))
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Architecture != arch {
			t.Errorf("the %s image of the index is for %s", platform, cfg.Architecture)
		}
	}
}
