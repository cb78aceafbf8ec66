package app

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
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
	dir, _ := filepath.Abs("../../test/azure-exporter")
	node, err := exec.LookPath("node")
	if _, serr := os.Stat(filepath.Join(dir, "node_modules")); err != nil || serr != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("node (%v) and %s/node_modules (%v) are needed: .ci/run installs them", err, dir, serr)
		}
		t.Skip("node or test/azure-exporter/node_modules missing (run npm ci there)")
	}
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

	tctx, tcancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer tcancel()
	cmd := exec.CommandContext(tctx, node, "send.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"APPLICATIONINSIGHTS_CONNECTION_STRING="+appinsights.ConnectionString("https://"+a.HTTPAddr(), "default"),
		"APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL=true",
		"NODE_EXTRA_CA_CERTS="+filepath.Join(data, "tls", "cert.pem"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node send.mjs: %v\n%s", err, out)
	}
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
