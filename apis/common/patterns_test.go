package common

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPatternsAreTheCRDs: the patterns and bounds Go code checks are those
// the generated CRDs enforce, in both scopes and both kinds.
func TestPatternsAreTheCRDs(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "package", "crds", "ecs.alibabacloud*.yaml"))
	if err != nil || len(files) != 4 {
		t.Fatalf("want the four ECS CRDs in package/crds, got %v (%v)", files, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		crd := string(b)
		want := []string{
			fmt.Sprintf("self.matches('%s')", RegionPattern), fmt.Sprintf("maxLength: %d", RegionMaxLength),
			fmt.Sprintf("self.matches('%s')", ImageIDPattern), fmt.Sprintf("maxLength: %d", ImageIDMaxLength),
			fmt.Sprintf("maxLength: %d", AccountIDMaxLength),
		}
		if strings.Contains(f, "imagesharings") {
			want = append(want, fmt.Sprintf("a.matches('%s')", AccountIDPattern), fmt.Sprintf("maxItems: %d", MaxAccounts))
		} else {
			want = append(want, fmt.Sprintf("self.matches('%s')", AccountIDPattern))
		}
		for _, w := range want {
			if !strings.Contains(crd, w) {
				t.Errorf("%s does not hold %q: the markers in apis/common and the constants in patterns.go have parted", f, w)
			}
		}
	}
}
