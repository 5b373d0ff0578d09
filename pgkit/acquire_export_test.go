package pgkit

import "context"

// AcquireReleaseForTest takes a pooled connection the way every statement
// does (the acquire timeout, the reconnect gate, the pool's hooks) and
// gives it back: the healthy path's cost without a round trip, for
// BenchmarkAcquireRelease.
func (d *DB) AcquireReleaseForTest(ctx context.Context) error {
	c, err := d.acquire(ctx)
	if err != nil {
		return err
	}
	c.Release()
	return nil
}
