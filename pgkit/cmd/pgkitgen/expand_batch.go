package main

// Batches of rows: a :batchmany or :batchone query gets the nullability
// of :many and :one (embeds of the nullable side of outer joins inferred
// nullable, pgkit:nullable and pgkit:notnull of embeds and columns), and
// is then written as the hidden batch query pgkit+X with the embed and
// column lines of the contract; publish_batch.go writes its public X.
// The other row annotations (sort, nest, json) change the statement or
// the result's shape and are refused on a batch.

// batchRows are the batch commands that return rows.
var batchRows = map[string]bool{"batchmany": true, "batchone": true}

// batchAnnotation checks that annotation a (not pgkit:optional) is one a
// batch of rows takes.
func batchAnnotation(q *srcQuery, a annotation) error {
	if a.verb == "nullable" || a.verb == "notnull" {
		return nil
	}
	return q.errorf(a.line, "pgkit:%s is not supported on :%s yet (only pgkit:optional, pgkit:nullable and pgkit:notnull are): write the query as :%s to use it", a.verb, q.cmd, map[string]string{"batchmany": "many", "batchone": "one"}[q.cmd])
}

// batch plans the nullability of batch query q: hidden (its command kept)
// when any embed is nullable or any embed or column is annotated.
func (p *plan) batch(q *srcQuery) error {
	lines, err := p.nullability(q, false)
	if err != nil {
		return err
	}
	p.contract = append(p.contract, lines...)
	return nil
}
