package migrate

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Roles names the least-privilege roles Grant gives access to. Either may be
// empty. The roles must exist (creating login roles with passwords is the
// DBA's, not the migrations'):
//
//	CREATE ROLE shop_app LOGIN PASSWORD '…';
//	CREATE ROLE shop_readonly LOGIN PASSWORD '…';
type Roles struct {
	// App is the application's role: SELECT, INSERT, UPDATE and DELETE on
	// every table and USAGE on the identity sequences; no DDL, no TRUNCATE,
	// and only SELECT on goose's version table (for Check at start).
	App string
	// ReadOnly is for replicas and reporting: SELECT on every table,
	// goose's included.
	ReadOnly string
}

// Grant gives roles their privileges on the schema the migrations made,
// connected to dsn as the role that owns it (the one migrations run as),
// and sets default privileges so that tables and sequences later
// migrations create are covered too. It is idempotent: run it after every
// up, or once. Both roles may read goose's version table, so that a
// program started as either can check the schema version (Check); only
// the owner writes it: an application role that could rewrite it could
// make the next deploy skip or repeat migrations.
func Grant(ctx context.Context, dsn string, roles Roles) error {
	if roles.App == "" && roles.ReadOnly == "" {
		return errors.New("migrate grant: no role named")
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("migrate grant: connect: %w", err)
	}
	defer conn.Close(ctx)
	var stmts []string
	if roles.App != "" {
		app := pgx.Identifier{roles.App}.Sanitize()
		stmts = append(stmts,
			"GRANT USAGE ON SCHEMA public TO "+app,
			"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "+app,
			"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "+app,
			"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "+app,
			"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO "+app,
			"REVOKE ALL ON goose_db_version FROM "+app,
			"GRANT SELECT ON goose_db_version TO "+app,
			"REVOKE ALL ON SEQUENCE goose_db_version_id_seq FROM "+app,
		)
	}
	if roles.ReadOnly != "" {
		ro := pgx.Identifier{roles.ReadOnly}.Sanitize()
		stmts = append(stmts,
			"GRANT USAGE ON SCHEMA public TO "+ro,
			"GRANT SELECT ON ALL TABLES IN SCHEMA public TO "+ro,
			"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO "+ro,
			"REVOKE ALL ON goose_db_version FROM "+ro,
			"GRANT SELECT ON goose_db_version TO "+ro,
		)
	}
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		for _, s := range stmts {
			if _, err := tx.Exec(ctx, s); err != nil {
				return fmt.Errorf("migrate grant: %s: %w", s, err)
			}
		}
		return nil
	})
}
