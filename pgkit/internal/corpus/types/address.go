package types

// Address is the composite type address, which sqlc does not map (an
// override names this type): pgx scans and encodes it field by field once
// the type is registered on the connection (see RegisterTypes).
type Address struct {
	Street string
	City   string
}
