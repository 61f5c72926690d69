package importer

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"
	"sigs.k8s.io/yaml"
)

// Manifest is obj as YAML to apply: what it asks for, without the empty
// status and creation time a typed object carries.
func Manifest(obj resource.Managed) ([]byte, error) {
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	delete(m, "status")
	if md, ok := m["metadata"].(map[string]any); ok {
		delete(md, "creationTimestamp")
	}
	return yaml.Marshal(m)
}

// WriteYAML writes the objects to w as one YAML stream.
func WriteYAML(w io.Writer, objs []resource.Managed) error {
	for i, obj := range objs {
		b, err := Manifest(obj)
		if err != nil {
			return fmt.Errorf("cannot write %s: %w", obj.GetName(), err)
		}
		if i > 0 {
			if _, err := io.WriteString(w, "---\n"); err != nil {
				return err
			}
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// WriteDir writes each object to its own file in dir, named
// <kind>-<name>.yaml, which it creates if need be.
func WriteDir(dir string, objs []resource.Managed) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	for _, obj := range objs {
		b, err := Manifest(obj)
		if err != nil {
			return fmt.Errorf("cannot write %s: %w", obj.GetName(), err)
		}
		kind := strings.ToLower(obj.GetObjectKind().GroupVersionKind().Kind)
		if err := os.WriteFile(filepath.Join(dir, kind+"-"+obj.GetName()+".yaml"), b, 0o600); err != nil {
			return err
		}
	}
	return nil
}
