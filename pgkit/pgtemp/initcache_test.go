package pgtemp

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestInitCache: the first Start with an empty cache folder runs initdb
// and keeps its cluster there; the next starts from a copy of it (a
// marker file put in the cache shows up in its data directory), with the
// data directory mode the server demands, and serves writes; a damaged
// entry is replaced by the next initdb's cluster.
func TestInitCache(t *testing.T) {
	cacheHome := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cacheHome) // os.UserCacheDir on Linux
	ctx := context.Background()
	start := func() *Server {
		t.Helper()
		s, err := Start(ctx, Config{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Stop() })
		conn, err := pgx.Connect(ctx, s.URL())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "CREATE TABLE t AS SELECT 1 AS x"); err != nil {
			t.Fatalf("server in %s: %v", s.Dir(), err)
		}
		return s
	}
	entry := func() string {
		t.Helper()
		m, _ := filepath.Glob(filepath.Join(cacheHome, "pgtemp", "initdb-*"))
		if len(m) != 1 {
			t.Fatalf("the cache holds %d entries (%v), want 1", len(m), m)
		}
		return m[0]
	}
	hasMarker := func(s *Server) bool {
		_, err := os.Stat(filepath.Join(s.Dir(), "data", "pgtemp-marker"))
		return err == nil
	}

	start()
	cached := entry()
	if err := os.WriteFile(filepath.Join(cached, "data", "pgtemp-marker"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	second := start()
	if !hasMarker(second) {
		t.Error("the second server's data directory is not a copy of the cached cluster")
	}
	if st, err := os.Stat(filepath.Join(second.Dir(), "data")); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("restored data directory: %v (%v), want mode 0700", st, err)
	}

	// A damaged entry (its cluster half gone) is not used, and is replaced.
	if err := os.Remove(filepath.Join(cached, "data", "PG_VERSION")); err != nil {
		t.Fatal(err)
	}
	if third := start(); hasMarker(third) {
		t.Error("a server started from a damaged cache entry")
	}
	if _, err := os.Stat(filepath.Join(entry(), "data", "PG_VERSION")); err != nil {
		t.Errorf("the damaged entry was not replaced: %v", err)
	}
}
