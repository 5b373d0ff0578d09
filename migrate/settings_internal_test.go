package migrate

import (
	"context"
	"testing"
	"time"

	"github.com/shopdb/shopdb/pgkit/pgkittest"
	"github.com/shopdb/shopdb/schema"
)

// TestSessionSettingsEitherWay: the migrator's sessions run with its
// settings whether they are sent as startup parameters (the default) or
// SET after connecting (SessionPooler).
func TestSessionSettingsEitherWay(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dsn := pgkittest.EmptyURL(t)
	for _, sessionPooler := range []bool{false, true} {
		m, err := OpenFS(ctx, dsn, schema.FS(), Options{LockTimeout: 1234 * time.Millisecond, StatementTimeout: 5 * time.Minute, SessionPooler: sessionPooler})
		if err != nil {
			t.Fatal(err)
		}
		for name, want := range map[string]string{
			"lock_timeout": "1234ms", "statement_timeout": "5min",
			"client_connection_check_interval": "1s", "idle_in_transaction_session_timeout": "1min",
		} {
			var got string
			if err := m.sqlDB.QueryRowContext(ctx, "SHOW "+name).Scan(&got); err != nil || got != want {
				t.Errorf("SessionPooler %v: %s = %q (%v), want %q", sessionPooler, name, got, err, want)
			}
		}
		m.Close()
	}
}
