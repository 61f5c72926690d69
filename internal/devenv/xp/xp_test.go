package xp

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
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

// A package file pushed under a name is pulled back by that name, with the
// same digest, over plain http as Crossplane pulls it.
func TestPush(t *testing.T) {
	w := &World{logs: t.TempDir()}
	if err := w.serveRegistry(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = w.Close() }()
	img, err := random.Image(1024, 2)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "pkg.xpkg")
	if err := tarball.WriteToFile(file, name.MustParseReference("registry.example.org/platform/pkg:v0.1.0"), img); err != nil {
		t.Fatal(err)
	}
	if err := w.Push(t.Context(), file, "platform/pkg:v0.1.0"); err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(w.Registry + "/platform/pkg:v0.1.0")
	if err != nil {
		t.Fatal(err)
	}
	pulled, err := remote.Image(ref)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := img.Digest()
	got, _ := pulled.Digest()
	if got != want {
		t.Errorf("pulled digest %s, pushed %s", got, want)
	}
}
