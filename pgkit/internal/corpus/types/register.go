package types

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// RegisterTypes loads the schema's types that pgx must know before it can
// decode them (element types before the arrays of them) on conn and
// registers them, for pgkit.Config.AfterConnect.
func RegisterTypes(ctx context.Context, conn *pgx.Conn) error {
	types, err := conn.LoadTypes(ctx, []string{"mood", "_mood", "address", "_address", "email"})
	if err != nil {
		return fmt.Errorf("load types: %w", err)
	}
	conn.TypeMap().RegisterTypes(types)
	return nil
}
