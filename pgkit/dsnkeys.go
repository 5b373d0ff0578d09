package pgkit

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// pgkit's own keys in the connection string (pgbouncer, pgkit_multiplex),
// taken out before pgx sends the rest to the server as settings.

// takeMultiplexKey removes pgkit_multiplex from the connection string's
// parameters (it is not the server's) and reports whether it was true.
func takeMultiplexKey(cc *pgx.ConnConfig) (bool, error) {
	on, _, err := takeBoolKey(cc, "pgkit_multiplex")
	return on, err
}

// takeBoolKey removes key, one of pgkit's own connection string keys, from
// cc's parameters (the server would refuse it) and parses its value as
// PostgreSQL parses a boolean setting, without abbreviations: true, on,
// yes, 1 or false, off, no, 0, in any case. set reports whether the key
// was there. Any other value is an error naming the key and the accepted
// values; the value is shown unless it holds the password.
func takeBoolKey(cc *pgx.ConnConfig, key string) (on, set bool, err error) {
	v, ok := cc.RuntimeParams[key]
	if !ok {
		return false, false, nil
	}
	delete(cc.RuntimeParams, key)
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "on", "yes", "1":
		return true, true, nil
	case "false", "off", "no", "0":
		return false, true, nil
	}
	shown := strconv.Quote(v)
	if cc.Password != "" && strings.Contains(v, cc.Password) {
		shown = "(a value holding the password)"
	}
	return false, true, fmt.Errorf("connection string: %s=%s is not a boolean: use true or false (also accepted: on/off, yes/no, 1/0)", key, shown)
}

// configurePooler sets cc up for the pooler in front of the server: the one
// cfg names, or the one the connection string makes plain.
func configurePooler(cc *pgx.ConnConfig, pooler Pooler) error {
	// Prisma's convention: not a server parameter, so never sent.
	switch on, _, err := takeBoolKey(cc, "pgbouncer"); {
	case err != nil:
		return err
	case on:
		pooler = PoolerTransaction
	}
	if strings.HasSuffix(strings.ToLower(cc.Host), ".pooler.supabase.com") && cc.Port == 6543 {
		pooler = PoolerTransaction
	}
	if pooler != PoolerTransaction {
		return nil
	}
	cc.DefaultQueryExecMode = pgx.QueryExecModeCacheDescribe
	var refused []string
	for name := range cc.RuntimeParams {
		if !poolerSafeParam(name) {
			refused = append(refused, name)
		}
	}
	if len(refused) > 0 {
		slices.Sort(refused)
		return fmt.Errorf("%s: a transaction pooler refuses server settings as startup parameters, and a session setting would not stay with the session: set them per role instead (ALTER ROLE … SET %s = …)",
			strings.Join(refused, ", "), refused[0])
	}
	return nil
}

// repeatedKeys refuses a connection string that gives a parameter more
// than once (postgres://…?sslmode=require&sslmode=disable, or
// host=h sslmode=require sslmode=disable): it is usually a string
// assembled from parts, and readers disagree on which value wins (older
// pgx kept the first, libpq and pgx 5.13 the last), so a silent choice
// surprises someone. The error names the keys, never their values.
func repeatedKeys(dsn string) error {
	var keys []string
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return nil // pgx reports it, without the password
		}
		for key, values := range u.Query() {
			for range values {
				keys = append(keys, key)
			}
		}
	} else {
		keys = keywordKeys(dsn)
	}
	seen := map[string]bool{}
	var twice []string
	for _, k := range keys {
		if seen[k] && !slices.Contains(twice, k) {
			twice = append(twice, k)
		}
		seen[k] = true
	}
	if len(twice) == 0 {
		return nil
	}
	slices.Sort(twice)
	return fmt.Errorf("connection string: %s given more than once: give each parameter once", strings.Join(twice, ", "))
}

// keywordKeys returns the keys of a key=value connection string, in
// order, as libpq reads it: a value is a run of non-space characters, or
// single-quoted with \' and \\ escaped. It returns what it read before a
// string it cannot read (pgx reports that, without the password). pgx's
// parser is not exported, and only the keys are wanted here.
func keywordKeys(dsn string) []string {
	var keys []string
	i, n := 0, len(dsn)
	space := func() {
		for i < n && (dsn[i] == ' ' || dsn[i] == '\t' || dsn[i] == '\n' || dsn[i] == '\r') {
			i++
		}
	}
	for {
		space()
		if i >= n {
			return keys
		}
		start := i
		for i < n && dsn[i] != '=' && dsn[i] != ' ' && dsn[i] != '\t' {
			i++
		}
		key := dsn[start:i]
		space()
		if i >= n || dsn[i] != '=' || key == "" {
			return keys
		}
		i++
		space()
		if i < n && dsn[i] == '\'' {
			for i++; i < n && dsn[i] != '\''; i++ {
				if dsn[i] == '\\' {
					i++
				}
			}
			if i >= n {
				return keys // unterminated: pgx says so
			}
			i++
		} else {
			for i < n && dsn[i] != ' ' && dsn[i] != '\t' && dsn[i] != '\n' && dsn[i] != '\r' {
				i++
			}
		}
		keys = append(keys, key)
	}
}
