// Command image assembles the provider's OCI runtime image without Docker:
// the static binary on an empty base, configured exactly as the Dockerfile
// says, written as an image tarball. It reads the Dockerfile rather than
// repeating it, so the two recipes cannot drift apart.
package main

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

func main() {
	dockerfile := flag.String("dockerfile", "cluster/images/provider-alibabacloud-ecs/Dockerfile", "the recipe to follow")
	binary := flag.String("binary", "", "the static binary to put in the image")
	platform := flag.String("platform", "linux/amd64", "os/arch of the binary")
	version := flag.String("version", "v0.0.0-dev", "the image's version, for its label and tag")
	repository := flag.String("repository", "provider-alibabacloud-ecs", "the image name in the tarball")
	out := flag.String("out", "", "where to write the image tarball")
	flag.Parse()
	if err := run(*dockerfile, *binary, *platform, *version, *repository, *out); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func run(dockerfile, binary, platform, version, repository, out string) error {
	if binary == "" || out == "" {
		return errors.New("--binary and --out are required")
	}
	goos, goarch, ok := strings.Cut(platform, "/")
	if !ok {
		return fmt.Errorf("--platform %q is not os/arch", platform)
	}
	recipe, err := os.ReadFile(dockerfile)
	if err != nil {
		return err
	}
	spec, err := ParseDockerfile(bytes.NewReader(recipe), map[string]string{"TARGETOS": goos, "TARGETARCH": goarch, "VERSION": version})
	if err != nil {
		return fmt.Errorf("%s: %w", dockerfile, err)
	}
	bin, err := os.ReadFile(binary)
	if err != nil {
		return err
	}
	img, err := Build(spec, bin, goos, goarch)
	if err != nil {
		return err
	}
	tag, err := name.NewTag(repository + ":" + version)
	if err != nil {
		return err
	}
	return tarball.WriteToFile(out, tag, img)
}

// Spec is what the Dockerfile says the image is.
type Spec struct {
	Labels     map[string]string
	Path       string // where the binary goes
	User       string
	Entrypoint []string
}

// ParseDockerfile reads the instructions this image needs, substituting
// build arguments. Anything a binary on an empty base cannot honour (RUN,
// another base, several COPYs) is an error, not something to ignore.
func ParseDockerfile(r io.Reader, args map[string]string) (Spec, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return Spec{}, err
	}
	s := Spec{Labels: map[string]string{}}
	expand := func(v string) string { return os.Expand(v, func(k string) string { return args[k] }) }
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		instr, rest, _ := strings.Cut(line, " ")
		rest = strings.TrimSpace(rest)
		switch strings.ToUpper(instr) {
		case "FROM":
			if rest != "scratch" {
				return Spec{}, fmt.Errorf("line %d: only FROM scratch can be built without Docker", i+1)
			}
		case "ARG":
		case "LABEL":
			k, v, ok := strings.Cut(rest, "=")
			if !ok {
				return Spec{}, fmt.Errorf("line %d: LABEL must be key=\"value\"", i+1)
			}
			s.Labels[k] = expand(strings.Trim(v, `"`))
		case "COPY":
			parts := strings.Fields(rest)
			if len(parts) != 2 || s.Path != "" {
				return Spec{}, fmt.Errorf("line %d: one COPY of the binary (COPY src dest) is all an empty base needs", i+1)
			}
			s.Path = parts[1]
		case "USER":
			s.User = rest
		case "ENTRYPOINT":
			if err := json.Unmarshal([]byte(rest), &s.Entrypoint); err != nil {
				return Spec{}, fmt.Errorf("line %d: ENTRYPOINT must be in exec (JSON) form: %w", i+1, err)
			}
		default:
			return Spec{}, fmt.Errorf("line %d: %s cannot be honoured without Docker", i+1, instr)
		}
	}
	if s.Path == "" || len(s.Entrypoint) == 0 || s.User == "" {
		return Spec{}, errors.New("the Dockerfile must COPY the binary and set USER and ENTRYPOINT")
	}
	return s, nil
}

// epoch stamps every file and the image, so the same binary always gives
// the same image digest.
var epoch = time.Unix(0, 0).UTC()

// Build returns the image: one layer holding the binary at spec.Path.
func Build(spec Spec, binary []byte, goos, goarch string) (v1.Image, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dir := ""
	for _, part := range strings.Split(strings.Trim(path.Dir(spec.Path), "/"), "/") {
		dir = path.Join(dir, part)
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir + "/", Mode: 0o755, ModTime: epoch}); err != nil {
			return nil, err
		}
	}
	if err := tw.WriteHeader(&tar.Header{
		Typeflag: tar.TypeReg, Name: strings.TrimPrefix(spec.Path, "/"), Mode: 0o755, Size: int64(len(binary)), ModTime: epoch,
	}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(binary); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	layerBytes := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerBytes)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), layer)
	if err != nil {
		return nil, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = goos, goarch
	cfg.Created = v1.Time{Time: epoch}
	cfg.Config.Entrypoint = spec.Entrypoint
	cfg.Config.User = spec.User
	cfg.Config.Labels = spec.Labels
	return mutate.ConfigFile(img, cfg)
}
