package pgtemp

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Promote turns a standby (Config.ReplicaOf) into a primary, as a
// failover does, and returns once it accepts writes. It asks the server
// itself (pg_promote(), what pg_ctl promote signals), so it needs no
// binary and no access to the data directory.
func (s *Server) Promote(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.url)
	if err != nil {
		return fmt.Errorf("pgtemp: promote: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var promoted bool
	if err := conn.QueryRow(ctx, "SELECT pg_promote(true, 60)").Scan(&promoted); err != nil {
		return fmt.Errorf("pgtemp: promote: %w", err)
	}
	if !promoted {
		return fmt.Errorf("pgtemp: promote: the server was still in recovery after 60s: %s", s.logTail())
	}
	return nil
}
