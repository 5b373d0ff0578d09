package ptr

// Doc is a json column's Go type, decoded by pgx's JSON codec.
type Doc struct {
	Name string `json:"name"`
	N    int    `json:"n"`
}
