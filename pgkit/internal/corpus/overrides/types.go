package overrides

// Cents is a price in cents: products.price_cents is overridden to it.
// It is declared by hand in the generated package (sqlc refers to it
// unqualified) and goes through pgx by its int64 kind.
type Cents int64
