package pgkit_test

import (
	"os/exec"
	"strings"
	"testing"
)

// module is the import path of the module pgkit lives in today.
const module = "github.com/shopdb/shopdb"

// TestArrowsRunOneWay: the toolkit, its tests included, imports nothing of
// the module outside pgkit/ (so that pgkit/ can be lifted into another
// project as it is), and the generated db package nothing of this module:
// examples and cmd → shop → pgkit + db → pgx.
func TestArrowsRunOneWay(t *testing.T) {
	t.Parallel()
	// pgkit, with the packages its tests need.
	out, err := exec.Command("go", "list", "-test", "-deps", "./...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -test -deps ./...: %v\n%s", err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		// A test variant is listed as "path [path.test]", a test binary
		// as "path.test", an external test package as "path_test".
		dep, _, _ := strings.Cut(line, " ")
		dep = strings.TrimSuffix(strings.TrimSuffix(dep, ".test"), "_test")
		if dep != module && !strings.HasPrefix(dep, module+"/") {
			continue
		}
		if dep != module+"/pgkit" && !strings.HasPrefix(dep, module+"/pgkit/") {
			t.Errorf("pgkit (tests included) depends on %s, outside pgkit/", line)
		}
	}
	for pkgs, forbidden := range map[string][]string{
		"../db":   {"/pgkit", "/shop", "/schema", "/migrate", "/internal"},
		"../shop": {"/examples", "/cmd/migrate", "/migrate"},
	} {
		out, err := exec.Command("go", "list", "-deps", pkgs).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", pkgs, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, f := range forbidden {
				if dep == module+f || strings.HasPrefix(dep, module+f+"/") {
					t.Errorf("%s depends on %s", pkgs, dep)
				}
			}
		}
	}
}
