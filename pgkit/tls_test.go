package pgkit_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/internal/kitdb"
	"github.com/shopdb/shopdb/pgkit/pgtemp"
)

// certificate makes a key and a certificate for names, signed by parent
// (self-signed, as a CA, when parent is nil).
func certificate(t *testing.T, names []string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey, []byte, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "pgkit test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		DNSNames:     names,
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	signer, signerKey := tmpl, key
	if parent == nil {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
	} else {
		signer, signerKey = parent, parentKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	keyDER, _ := x509.MarshalECPrivateKey(key)
	return cert, key, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
}

// TestVerifyFullTLS: a server whose certificate a test CA signed for
// "localhost" is reached with sslmode=verify-full by the pool and by goose
// migrations over database/sql (migrateUp); another CA's certificate, or a
// host name the certificate does not name, is refused before any query.
func TestVerifyFullTLS(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ca, caKey, caPEM, _ := certificate(t, nil, nil, nil)
	_, _, serverPEM, serverKeyPEM := certificate(t, []string{"localhost"}, ca, caKey)
	_, _, otherCAPEM, _ := certificate(t, nil, nil, nil)
	srv, err := pgtemp.Start(ctx, pgtemp.Config{TLS: &pgtemp.TLS{CertPEM: serverPEM, KeyPEM: serverKeyPEM}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	dir := t.TempDir()
	caFile, otherFile := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "other.pem")
	if err := os.WriteFile(caFile, caPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(otherFile, otherCAPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(srv.URL())
	dsn := func(host, ca string) string {
		return "postgres://postgres@" + host + ":" + u.Port() + "/postgres?sslmode=verify-full&sslrootcert=" + ca
	}

	pool, err := pgkit.Open(ctx, dsn("localhost", caFile), pgkit.Config{})
	if err != nil {
		t.Fatalf("verify-full with the right CA: %v", err)
	}
	defer pool.Close()
	var ssl bool
	var version string
	if err := pool.QueryRow(ctx, "SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()").Scan(&ssl, &version); err != nil || !ssl {
		t.Fatalf("pg_stat_ssl: ssl %v, %v", ssl, err)
	}
	if err := migrateUp(ctx, dsn("localhost", caFile)); err != nil {
		t.Fatalf("migrate over verify-full: %v", err)
	}
	if _, err := kitdb.New(pool).AccountList(ctx, kitdb.AccountListParams{Max: 1}); err != nil {
		t.Fatal(err)
	}
	t.Logf("connected with %s", version)

	for name, bad := range map[string]string{
		"another CA":         dsn("localhost", otherFile),
		"a name not in cert": dsn("127.0.0.1", caFile),
	} {
		_, err := pgkit.Open(ctx, bad, pgkit.Config{ConnectTimeout: 5 * time.Second})
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Errorf("%s: %v, want a certificate error", name, err)
		}
		if err := migrateUp(ctx, bad); err == nil {
			t.Errorf("%s: migrate connected", name)
		}
	}
}
