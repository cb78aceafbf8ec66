package bench

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"
)

// subcommands are the benchmarks "genscope bench" runs.
const subcommands = "ingest, flood, query, gateway, alerts or clickhouse"

// Main runs "genscope bench SUBCOMMAND".
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("bench: want a subcommand: %s", subcommands)
	}
	switch args[0] {
	case "ingest":
		return ingestMain(ctx, args[1:], stdout, stderr)
	case "flood":
		return floodMain(ctx, args[1:], stdout, stderr)
	case "query":
		return queryMain(ctx, args[1:], stdout, stderr)
	case "gateway":
		return gatewayMain(ctx, args[1:], stdout, stderr)
	case "gateway-upstream": // the upstream process of "bench gateway"
		return upstreamMain(ctx, args[1:], stdout, stderr)
	case "alerts":
		return alertsMain(ctx, args[1:], stdout, stderr)
	case "clickhouse":
		return clickhouseMain(ctx, args[1:], stdout, stderr)
	default:
		return fmt.Errorf("bench: unknown subcommand %q (want %s)", args[0], subcommands)
	}
}

// quantile returns the q-quantile (nearest rank) of sorted durations.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted)-1) + 0.5)
	return sorted[i]
}

func sortDurations(d []time.Duration) []time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/1e6) }
