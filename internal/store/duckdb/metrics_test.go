package duckdb

import (
	"testing"

	"github.com/genscope/genscope/internal/store"
	"github.com/genscope/genscope/internal/store/storetest"
)

func TestMetricsConformance(t *testing.T) {
	storetest.RunMetrics(t, func(t *testing.T) store.Store { return openTest(t) })
}
