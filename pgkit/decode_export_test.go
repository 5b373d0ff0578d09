package pgkit

import "github.com/jackc/pgx/v5"

// DecodedNatively is the number of columns of rows (a DB's or a Tx's,
// after their first Scan) that Config.Decoders decode natively; 0 when
// none do.
func DecodedNatively(rows pgx.Rows) int {
	m, ok := rows.(*mappedRows)
	if !ok || !m.dec.ok {
		return 0
	}
	return m.dec.res.Native()
}
