package pgtemp

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestBouncerBehindPasswords: in front of a server that asks for a scram
// password (as a DATABASE_URL server may), PgBouncer logs in with the
// password of the target URL, quotes included; with a wrong password
// StartBouncer fails at once saying why, instead of waiting forever for a
// bouncer that cannot serve.
func TestBouncerBehindPasswords(t *testing.T) {
	if _, err := os.Stat(BouncerBin); err != nil {
		t.Skip("pgbouncer is not installed: apt-get install -y pgbouncer (make test does it when run as root)")
	}
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := Start(ctx, Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop() })
	const password = `p"w s3cret`
	admin, err := pgx.Connect(ctx, s.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, `CREATE ROLE pwuser LOGIN PASSWORD 'p"w s3cret'`); err != nil {
		t.Fatal(err)
	}
	hba := filepath.Join(s.Dir(), "data", "pg_hba.conf")
	old, err := os.ReadFile(hba)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(hba, append([]byte("host all pwuser 127.0.0.1/32 scram-sha-256\n"), old...), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(ctx, "SELECT pg_reload_conf()"); err != nil {
		t.Fatal(err)
	}
	target := func(pw string) string {
		return fmt.Sprintf("postgres://%s@127.0.0.1:%d/postgres?sslmode=disable", url.UserPassword("pwuser", pw).String(), s.Port())
	}
	// The server really asks for the password now.
	if c, err := pgx.Connect(ctx, target("wrong")); err == nil {
		c.Close(ctx)
		t.Fatal("the server let pwuser in with a wrong password: pg_hba.conf not in force")
	}

	b, err := StartBouncer(ctx, target(password), "transaction", "pwuser")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Stop()
	c, err := pgx.Connect(ctx, b.URL(target(password)))
	if err != nil {
		t.Fatal(err)
	}
	var who string
	if err := c.QueryRow(ctx, "SELECT current_user::text").Scan(&who); err != nil || who != "pwuser" {
		t.Errorf("through the bouncer: current_user %q, %v", who, err)
	}
	c.Close(ctx)

	_, err = StartBouncer(ctx, target("wrong"), "transaction", "pwuser")
	if err == nil || !strings.Contains(err.Error(), "cannot serve pwuser") {
		t.Fatalf("a bouncer with a wrong password: %v, want an error saying it cannot serve pwuser", err)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Errorf("the error shows the password: %v", err)
	}
}
