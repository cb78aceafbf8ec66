package clickhouse

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/genscope/genscope/internal/store"
)

// TestTLS talks to the test server's TLS ports (scripts/clickhouse.sh
// gives server 1 a certificate from its own test CA): queries over the
// native protocol and inserts over HTTPS, with the CA trusted; refused
// on both protocols when it is not.
func TestTLS(t *testing.T) {
	addr := serverAddr(t)
	v, caFile := os.Getenv("GENSCOPE_CLICKHOUSE_TLS"), os.Getenv("GENSCOPE_CLICKHOUSE_CA")
	if v == "" || caFile == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("GENSCOPE_CLICKHOUSE_TLS and GENSCOPE_CLICKHOUSE_CA are not set in CI: scripts/clickhouse.sh start prints them")
		}
		t.Skip("no ClickHouse TLS ports: GENSCOPE_CLICKHOUSE_TLS is not set (scripts/clickhouse.sh start prints it)")
	}
	native, https, ok := strings.Cut(v, "=")
	if !ok {
		t.Fatalf("GENSCOPE_CLICKHOUSE_TLS=%q: want native=https", v)
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("%s: no certificate", caFile)
	}
	db := testDatabase(t, addr)
	ctx := context.Background()
	s := openOpts(t, Options{Addrs: []string{native}, HTTPAddr: https, Database: db, TLS: &tls.Config{RootCAs: pool}})
	end := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	loadSynth(t, s, 2000, end.Add(-3*time.Hour), end)
	o, err := s.Overview(ctx, store.Filter{Project: "default", From: end.Add(-4 * time.Hour), To: end.Add(time.Hour)})
	if err != nil || o.Calls == 0 {
		t.Fatalf("overview over TLS: %+v %v", o, err)
	}

	// The system's roots do not know the test CA.
	_, err = Open(ctx, Options{Addrs: []string{native}, HTTPAddr: https, Database: db, TLS: &tls.Config{}, DialTimeout: 5 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("native protocol with an unknown CA: %v, want a certificate error", err)
	}
	in := newInserter(https, "default", "", 10*time.Second, url.Values{"database": {db}}, &tls.Config{})
	defer in.close()
	if err := in.insert(ctx, "spans", nil); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("HTTPS insert with an unknown CA: %v, want a certificate error", err)
	}
}
