package sqllex_test

import (
	"testing"

	"github.com/shopdb/shopdb/pgkit/internal/sqllex"
)

// benchSQL is a generated query of typical size.
const benchSQL = `-- name: NoteListByProject :many
SELECT n.note_id, n.project_id, n.account_id, n.priority, n.body, n.created_at
FROM notes n JOIN accounts a ON a.account_id = n.account_id
WHERE n.project_id = $1 AND (n.priority >= $2 OR a.team = 'ops')
ORDER BY n.priority DESC, n.note_id LIMIT $3`

func BenchmarkReadOnly(b *testing.B) {
	for b.Loop() {
		if !sqllex.ReadOnly(benchSQL) {
			b.Fatal("not a read")
		}
	}
}

func BenchmarkSessionChange(b *testing.B) {
	for b.Loop() {
		if sqllex.SessionChange(benchSQL) != "" {
			b.Fatal("a session change")
		}
	}
}

func BenchmarkNormalize(b *testing.B) {
	for b.Loop() {
		_ = sqllex.Normalize(benchSQL)
	}
}
