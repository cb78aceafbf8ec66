package app

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/genscope/genscope/internal/config"
	"github.com/genscope/genscope/internal/ingest/appinsights"
	"github.com/genscope/genscope/internal/store"
)

// TestRealAzureMonitorExporter sends a GenAI call with the real
// @azure/monitor-opentelemetry-exporter (Node.js, from npm; .ci/run
// installs it) to genscope over HTTPS with the self-signed certificate,
// which is what that exporter requires, and finds it in the API.
func TestRealAzureMonitorExporter(t *testing.T) {
	data := t.TempDir()
	cfg := config.Default()
	cfg.Data, cfg.Listen, cfg.GRPCListen = data, "127.0.0.1:0", ""
	cfg.TLS.SelfSigned = true
	a, err := New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() { cancel(); <-done }()

	out := nodeClient(t, "azure-exporter", "send.mjs", 60*time.Second,
		"APPLICATIONINSIGHTS_CONNECTION_STRING="+appinsights.ConnectionString("https://"+a.HTTPAddr(), "default"),
		"APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL=true",
		"NODE_EXTRA_CA_CERTS="+filepath.Join(data, "tls", "cert.pem"))
	if !strings.Contains(string(out), "trace_id") {
		t.Fatalf("exporter output: %s", out)
	}
	ov, err := a.Store().Overview(context.Background(), storeFilter(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if ov.Calls != 1 || ov.InputTokens != 46 || ov.OutputTokens != 92 {
		t.Fatalf("overview after the exporter's call: %+v", ov)
	}
}

func storeFilter(d time.Duration) store.Filter {
	return store.Filter{Project: "default", From: time.Now().Add(-d), To: time.Now().Add(time.Minute)}
}
