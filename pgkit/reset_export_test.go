package pgkit

// ResetForTest is what Replicated does to a node's DB when the node
// changed role: every connection dropped once it comes back, multiplexed
// statements moved to new connections.
func (d *DB) ResetForTest() { d.reset() }
