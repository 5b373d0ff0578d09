package pgdecode

import (
	"encoding/binary"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// The bounds pgx checks times against (pgtype's minDateTime, endDate and
// endTimestamp), in Unix seconds.
const (
	minDateTimeUnix  = -210866803200   // -4713-11-24 00:00 UTC
	endDateUnix      = 185331707078400 // 5874898-01-01 00:00 UTC
	endTimestampUnix = 9224318016000   // 294277-01-01 00:00 UTC

	y2kMicros = 946_684_800 * 1_000_000 // 2000-01-01 in microseconds since 1970
)

// readTimestamptz decodes a binary timestamptz as pgx does (a time in
// time.Local, or ±infinity); false for a bad length or a time out of
// pgx's range.
func readTimestamptz(src []byte) (pgtype.Timestamptz, bool) {
	if len(src) != 8 {
		return pgtype.Timestamptz{}, false
	}
	us := int64(binary.BigEndian.Uint64(src))
	switch us {
	case 9223372036854775807:
		return pgtype.Timestamptz{Valid: true, InfinityModifier: pgtype.Infinity}, true
	case -9223372036854775808:
		return pgtype.Timestamptz{Valid: true, InfinityModifier: pgtype.NegativeInfinity}, true
	}
	t := time.Unix(y2kMicros/1_000_000+us/1_000_000, (y2kMicros%1_000_000*1_000)+(us%1_000_000*1_000))
	if s := t.Unix(); s < minDateTimeUnix || s >= endTimestampUnix {
		return pgtype.Timestamptz{}, false
	}
	return pgtype.Timestamptz{Time: t, Valid: true}, true
}

// readTime decodes a binary timestamptz for a time.Time: false for
// ±infinity too, which pgx refuses to scan into one.
func readTime(src []byte) (time.Time, bool) {
	ts, ok := readTimestamptz(src)
	if !ok || ts.InfinityModifier != pgtype.Finite {
		return time.Time{}, false
	}
	return ts.Time, true
}

// readDate decodes a binary date as pgx does (midnight UTC, or ±infinity);
// false for a bad length or a date out of pgx's range.
func readDate(src []byte) (pgtype.Date, bool) {
	if len(src) != 4 {
		return pgtype.Date{}, false
	}
	days := int32(binary.BigEndian.Uint32(src))
	switch days {
	case 2147483647:
		return pgtype.Date{Valid: true, InfinityModifier: pgtype.Infinity}, true
	case -2147483648:
		return pgtype.Date{Valid: true, InfinityModifier: pgtype.NegativeInfinity}, true
	}
	t := time.Date(2000, 1, int(1+days), 0, 0, 0, 0, time.UTC)
	if s := t.Unix(); s < minDateTimeUnix || s >= endDateUnix {
		return pgtype.Date{}, false
	}
	return pgtype.Date{Time: t, Valid: true}, true
}
