package pgkit

import (
	"errors"
	"net/url"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// keyValuePassword finds password=... in a key=value connection string.
var keyValuePassword = regexp.MustCompile(`password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)`)

// scrubSecret returns err with every occurrence of dsn's password replaced.
// pgx already redacts passwords it recognises; this also covers the strings
// it cannot parse well enough to redact (its redaction is best effort).
// The wrapped error stays reachable through errors.As.
func scrubSecret(err error, dsn string) error {
	var secrets []string
	if u, perr := url.Parse(dsn); perr == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			secrets = append(secrets, pw, url.QueryEscape(pw), url.PathEscape(pw))
		}
	} else if i, j := strings.Index(dsn, "://"), strings.LastIndex(dsn, "@"); i >= 0 && j > i {
		// Unparseable URL: treat everything after the first ':' of the
		// userinfo as the password.
		if _, pw, ok := strings.Cut(dsn[i+3:j], ":"); ok && pw != "" {
			secrets = append(secrets, pw)
		}
	}
	for _, m := range keyValuePassword.FindAllStringSubmatch(dsn, -1) {
		secrets = append(secrets, strings.Trim(m[1], "'"))
	}
	msg := err.Error()
	scrubbed := msg
	var pce *pgconn.ParseConfigError
	if errors.As(err, &pce) {
		// pgx's message quotes the whole string, its password redacted
		// only as far as pgx could tell where it ends (best effort, as
		// pgx says): password='a b, or a URL with an @ in the password,
		// left its tail in the message. The string is left out instead;
		// what pgx found wrong with it follows the last "`: ".
		if i := strings.LastIndex(msg, "`: "); i >= 0 {
			scrubbed = "cannot parse the connection string: " + msg[i+len("`: "):]
		} else {
			scrubbed = "cannot parse the connection string"
		}
	}
	for _, s := range secrets {
		if s != "" {
			scrubbed = strings.ReplaceAll(scrubbed, s, "xxxxx")
		}
	}
	if scrubbed == msg {
		return err
	}
	return &redactedError{msg: scrubbed, err: err}
}

// redactedError carries an error whose text had a secret removed.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
