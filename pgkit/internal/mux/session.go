package mux

import (
	"regexp"
	"strings"
)

var (
	sessionFuncs   = regexp.MustCompile(`(?i)\bpg_(try_)?advisory_lock(_shared)?\s*\(`)
	sessionSetConf = regexp.MustCompile(`(?is)\bset_config\s*\(.*,\s*false\s*\)`)
)

// sessionChange names what in sql would outlive its statement on the
// connection, or returns "". It reads the leading keyword (after comments)
// and looks for the session-level functions; it cannot see inside
// functions the statement calls.
func sessionChange(sql string) string {
	words := leadingWords(sql, 3)
	if len(words) == 0 {
		return ""
	}
	switch words[0] {
	case "SET":
		if len(words) > 1 && words[1] == "LOCAL" {
			return "" // no effect outside a transaction block
		}
		return "SET"
	case "RESET", "BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT", "SAVEPOINT", "RELEASE",
		"PREPARE", "DEALLOCATE", "DISCARD", "LISTEN", "UNLISTEN", "DECLARE", "CLOSE", "FETCH", "MOVE", "LOAD":
		return words[0]
	case "CREATE":
		for _, w := range words[1:] {
			if w == "TEMP" || w == "TEMPORARY" {
				return "CREATE TEMPORARY"
			}
		}
	}
	if sessionFuncs.MatchString(sql) {
		return "session advisory lock"
	}
	if sessionSetConf.MatchString(sql) {
		return "set_config(…, false)"
	}
	return ""
}

// leadingWords returns up to n leading keywords of sql, upper-cased,
// skipping whitespace and comments.
func leadingWords(sql string, n int) []string {
	var words []string
	s := sql
	for len(words) < n {
		s = strings.TrimLeft(s, " \t\r\n;(")
		switch {
		case strings.HasPrefix(s, "--"):
			i := strings.IndexByte(s, '\n')
			if i < 0 {
				return words
			}
			s = s[i+1:]
			continue
		case strings.HasPrefix(s, "/*"):
			i := strings.Index(s, "*/")
			if i < 0 {
				return words
			}
			s = s[i+2:]
			continue
		}
		end := strings.IndexFunc(s, func(r rune) bool {
			return !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
		})
		if end < 0 {
			end = len(s)
		}
		if end == 0 {
			return words
		}
		words = append(words, strings.ToUpper(s[:end]))
		s = s[end:]
	}
	return words
}
