package clickhouse

import (
	"context"
	"testing"
	"time"

	"github.com/genscope/genscope/internal/store"
	"github.com/genscope/genscope/internal/store/storetest"
)

func TestMetricsConformance(t *testing.T) {
	addr := serverAddr(t)
	storetest.RunMetrics(t, func(t *testing.T) store.Store {
		return openTest(t, addr, testDatabase(t, addr))
	})
}

// TestMetricsConformanceCluster runs the metric cases through the
// Distributed tables of the two-shard cluster.
func TestMetricsConformanceCluster(t *testing.T) {
	name, nodes := clusterNodes(t)
	storetest.RunMetrics(t, func(t *testing.T) store.Store {
		db := testDatabase(t, nodes[0][0], nodes[1][0])
		s, err := Open(context.Background(), Options{Addrs: []string{nodes[0][0]}, HTTPAddr: nodes[0][1], Database: db,
			Cluster: name, ReadTimeout: 30 * time.Second})
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		return s
	})
}
