package main

import (
	"fmt"
	"strconv"
	"strings"
)

// byteSize is a flag's size in bytes: a number with an optional unit, KB,
// MB, GB (powers of 1000) or KiB, MiB, GiB (powers of 1024), in any case.
type byteSize int64

// sizeUnits, longest suffixes first so that "MiB" is not read as "B".
func sizeUnits() []struct {
	suffix string
	factor int64
} {
	return []struct {
		suffix string
		factor int64
	}{
		{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30},
		{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"b", 1},
	}
}

// String writes the size in the largest binary unit that divides it.
func (s *byteSize) String() string {
	n := int64(*s)
	for _, u := range []struct {
		suffix string
		factor int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n != 0 && n%u.factor == 0 {
			return strconv.FormatInt(n/u.factor, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}

// Set parses a size such as 16MiB, 500kB or 4096.
func (s *byteSize) Set(v string) error {
	num, factor := strings.TrimSpace(v), int64(1)
	lower := strings.ToLower(num)
	for _, u := range sizeUnits() {
		if strings.HasSuffix(lower, u.suffix) {
			num, factor = strings.TrimSpace(num[:len(num)-len(u.suffix)]), u.factor
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/factor {
		return fmt.Errorf("want a size in bytes such as 16MiB, 500KB or 4096")
	}
	*s = byteSize(n * factor)
	return nil
}
