package leftjoinptr

// Title is one element of AuthorTitlesJSON's titles, decoded by pgkitgen
// from the query's json_agg (pgkit:json titles Title).
type Title struct {
	Title string `json:"title"`
}
