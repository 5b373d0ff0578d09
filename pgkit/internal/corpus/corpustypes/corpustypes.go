// Package corpustypes holds Go types of the conformance corpus that live
// outside the packages overriding columns to them: sqlc must import them
// (under an alias where the corpus asks for one), and pgkitgen's streams
// must import them the same way.
package corpustypes

import (
	"database/sql/driver"
	"fmt"
)

// Email is an e-mail address: a string-kinded named type, which pgx scans
// and encodes through its underlying kind.
type Email string

// Money is an amount in cents, stored as a bigint. It goes through pgx as
// a sql.Scanner and driver.Valuer, not by its kind (it is a struct).
type Money struct{ Cents int64 }

// Scan implements sql.Scanner.
func (m *Money) Scan(src any) error {
	switch v := src.(type) {
	case int64:
		m.Cents = v
		return nil
	case nil:
		return fmt.Errorf("corpustypes.Money: cannot scan NULL")
	}
	return fmt.Errorf("corpustypes.Money: cannot scan %T", src)
}

// Value implements driver.Valuer.
func (m Money) Value() (driver.Value, error) { return m.Cents, nil }
