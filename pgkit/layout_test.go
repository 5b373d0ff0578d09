package pgkit_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestArrowsRunOneWay: the toolkit imports nothing of the shop, and the
// generated db package nothing of this module: examples and cmd → shop →
// pgkit + db → pgx.
func TestArrowsRunOneWay(t *testing.T) {
	t.Parallel()
	for pkgs, forbidden := range map[string][]string{
		"./...":   {"/db", "/shop", "/schema", "/migrate", "/examples", "/cmd/migrate"},
		"../db":   {"/pgkit", "/shop", "/schema", "/migrate", "/internal"},
		"../shop": {"/examples", "/cmd/migrate", "/migrate"},
	} {
		out, err := exec.Command("go", "list", "-deps", pkgs).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", pkgs, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, f := range forbidden {
				if dep == "github.com/shopdb/shopdb"+f || strings.HasPrefix(dep, "github.com/shopdb/shopdb"+f+"/") {
					t.Errorf("%s depends on %s", pkgs, dep)
				}
			}
		}
	}
}
