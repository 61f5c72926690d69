package main

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// TestDockerfile checks the real Dockerfile parses into the image the
// package promises: non-root, the binary as entrypoint, labelled.
func TestDockerfile(t *testing.T) {
	f, err := os.Open("../../cluster/images/provider-alibabacloud-ecs/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := ParseDockerfile(f, map[string]string{"TARGETOS": "linux", "TARGETARCH": "arm64", "VERSION": "v1.2.3"})
	if err != nil {
		t.Fatal(err)
	}
	if s.User != "65532" || !slices.Equal(s.Entrypoint, []string{s.Path}) || s.Labels["org.opencontainers.image.version"] != "v1.2.3" {
		t.Errorf("spec = %+v", s)
	}
	img, err := Build(s, []byte("binary"), "linux", "arm64")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Architecture != "arm64" || cfg.Config.User != "65532" || cfg.Config.Entrypoint[0] != s.Path {
		t.Errorf("config = %+v", cfg.Config)
	}
}

func TestDockerfileRefusals(t *testing.T) {
	cases := map[string]string{
		"another base":      "FROM alpine\nCOPY a /b\nUSER 1\nENTRYPOINT [\"/b\"]",
		"a RUN":             "FROM scratch\nRUN true\nCOPY a /b\nUSER 1\nENTRYPOINT [\"/b\"]",
		"shell entrypoint":  "FROM scratch\nCOPY a /b\nUSER 1\nENTRYPOINT /b",
		"no user":           "FROM scratch\nCOPY a /b\nENTRYPOINT [\"/b\"]",
		"two copies":        "FROM scratch\nCOPY a /b\nCOPY c /d\nUSER 1\nENTRYPOINT [\"/b\"]",
		"label without key": "FROM scratch\nLABEL nothing\nCOPY a /b\nUSER 1\nENTRYPOINT [\"/b\"]",
	}
	for name, df := range cases {
		if _, err := ParseDockerfile(strings.NewReader(df), nil); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
