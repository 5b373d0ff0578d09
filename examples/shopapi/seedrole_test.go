package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/shopdb/shopdb/internal/clitest"
	"github.com/shopdb/shopdb/internal/testroles"
	"github.com/shopdb/shopdb/migrate"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
	"github.com/shopdb/shopdb/schema"
)

// TestSeedAsTheAppRole: -seed as the least-privilege role migrate grant
// sets up fails (seeding moves the identity sequences, which only their
// owner may), saying seeding failed and what to do instead, and the last
// log line, "shut down", carries that error rather than null.
func TestSeedAsTheAppRole(t *testing.T) {
	t.Parallel()
	owner := pgkittest.URL(t, schema.FS())
	app := testroles.Create(t, owner, "shopapi_app")[0]
	if err := migrate.Grant(context.Background(), owner, migrate.Roles{App: app.Name}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out := &clitest.Buffer{}
	err := run(ctx, []string{"-addr", "127.0.0.1:0", "-seed", "10"}, app.DSN, out, nil)
	if err == nil || !strings.Contains(err.Error(), "seeding failed") || !strings.Contains(err.Error(), "run with the owner's role, or without -seed") {
		t.Fatalf("run as the app role with -seed: %v; want an error saying seeding failed and how to run instead\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var last struct {
		Msg   string `json:"msg"`
		Error any    `json:"error"`
	}
	if jerr := json.Unmarshal([]byte(lines[len(lines)-1]), &last); jerr != nil || last.Msg != "shut down" {
		t.Fatalf("last line %q: want the shut down log line (%v)", lines[len(lines)-1], jerr)
	}
	if s, ok := last.Error.(string); !ok || !strings.Contains(s, "seeding failed") {
		t.Errorf("shut down line %q: want its error to be the seeding failure", lines[len(lines)-1])
	}
}
