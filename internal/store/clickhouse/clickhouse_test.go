package clickhouse

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/genscope/genscope/internal/store"
	"github.com/genscope/genscope/internal/store/storetest"
)

// serverAddr is the test server's native address from GENSCOPE_CLICKHOUSE
// (scripts/clickhouse.sh start prints it, and GENSCOPE_CLICKHOUSE_HTTP, the
// HTTP address inserts go to). Without it the test is skipped, or fails in
// CI.
func serverAddr(t testing.TB) string {
	t.Helper()
	addr := os.Getenv("GENSCOPE_CLICKHOUSE")
	if addr == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("GENSCOPE_CLICKHOUSE is not set in CI: start the servers with scripts/clickhouse.sh start")
		}
		t.Skip("no ClickHouse server: GENSCOPE_CLICKHOUSE is not set (scripts/clickhouse.sh start prints it)")
	}
	return addr
}

// testDatabase is a fresh database name, dropped at the end of the test on
// the given servers.
func testDatabase(t testing.TB, addrs ...string) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "genscope_test_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		// Generous: on a loaded machine ClickHouse 18.16 took over a
		// minute to drop a cluster test's database (its Distributed
		// tables flush before they go).
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		for _, a := range addrs {
			o := Options{Addrs: []string{a}}
			_ = o.defaults()
			c, err := connect(ctx, o, o.Addrs, "default")
			if err != nil {
				t.Errorf("drop test database: %v", err)
				continue
			}
			if err := c.Exec(ctx, "DROP DATABASE IF EXISTS `"+name+"`"); err != nil {
				t.Errorf("drop test database: %v", err)
			}
			_ = c.Close()
		}
	})
	return name
}

func openTest(t *testing.T, addr, db string) *DB {
	t.Helper()
	s, err := Open(context.Background(), Options{Addrs: []string{addr}, HTTPAddr: os.Getenv("GENSCOPE_CLICKHOUSE_HTTP"),
		Database: db, ReadTimeout: 30 * time.Second})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	addr := serverAddr(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		return openTest(t, addr, testDatabase(t, addr))
	})
}

func TestMigrateTwice(t *testing.T) {
	addr := serverAddr(t)
	db := testDatabase(t, addr)
	a := openTest(t, addr, db)
	defer a.Close()
	b := openTest(t, addr, db) // a second node: migrations already applied
	defer b.Close()
	var n uint64
	if err := b.conn.QueryRow(context.Background(), "SELECT count() FROM `"+db+"`.schema_migrations").Scan(&n); err != nil || n == 0 {
		t.Fatalf("schema_migrations: %d rows, %v", n, err)
	}
}

func TestLit(t *testing.T) {
	for in, want := range map[string]string{"a": "'a'", "it's": `'it\'s'`, `back\slash`: `'back\\slash'`, "nul\x00": `'nul\0'`} {
		if got := lit(in); got != want {
			t.Errorf("lit(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestScores(t *testing.T) {
	addr := serverAddr(t)
	storetest.RunScores(t, func(t *testing.T) store.Store {
		return openTest(t, addr, testDatabase(t, addr))
	})
}
