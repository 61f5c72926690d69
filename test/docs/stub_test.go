package docs

import "testing"

func checkYAML(t *testing.T, root string, docs map[string]*doc) {}
