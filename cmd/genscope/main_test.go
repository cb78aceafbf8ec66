package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCmd(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestVersionAndHelp(t *testing.T) {
	out, _, err := runCmd(t, "version")
	if err != nil || !strings.HasPrefix(out, "genscope ") || len(strings.TrimSpace(out)) <= len("genscope") {
		t.Errorf("version: %q %v", out, err)
	}
	help, _, err := runCmd(t, "help")
	if err != nil {
		t.Fatal(err)
	}
	// Every command run() knows is in the help.
	for _, cmd := range []string{"serve", "connection-string", "demo", "prompt", "alerts", "copy", "bench ingest", "bench query",
		"bench gateway", "bench alerts", "bench clickhouse", "version", "help"} {
		if !strings.Contains(help, "genscope "+cmd) {
			t.Errorf("help lacks %q", cmd)
		}
	}
}

func TestServerAddress(t *testing.T) {
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "genscope.yaml")
	if err := os.WriteFile(cfgFile, []byte("listen: 0.0.0.0:9911\ntls:\n  self_signed: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ server, config, want string }{
		{"", "", "http://127.0.0.1:4318"},
		{"http://10.0.0.5:4318/", "", "http://10.0.0.5:4318"},
		{"", cfgFile, "https://127.0.0.1:9911"},
		{"http://h:1", cfgFile, "http://h:1"},
	} {
		got, err := serverAddr(c.server, c.config)
		if err != nil || got != c.want {
			t.Errorf("serverAddr(%q, %q) = %q, %v; want %q", c.server, c.config, got, err, c.want)
		}
	}
	if _, err := serverAddr("127.0.0.1:4318", ""); err == nil {
		t.Error("a --server without a scheme is accepted")
	}
	out, _, err := runCmd(t, "connection-string", "--config", cfgFile, "--project", "shop")
	if err != nil || !strings.Contains(out, "IngestionEndpoint=https://127.0.0.1:9911/") {
		t.Errorf("connection-string --config: %q %v", out, err)
	}
	out, _, err = runCmd(t, "connection-string", "--server", "http://gs.internal:4318")
	if err != nil || !strings.Contains(out, "IngestionEndpoint=http://gs.internal:4318/") {
		t.Errorf("connection-string --server: %q %v", out, err)
	}
}

// TestDemoRefusesWhatIsNotGenscope: the demo says what answers instead of
// genscope, and neither starts a second server nor leaves a data
// directory behind.
func TestDemoRefusesWhatIsNotGenscope(t *testing.T) {
	wd := t.TempDir()
	t.Chdir(wd)
	data := filepath.Join(wd, "genscope-data")
	check := func(name, server, want string) {
		t.Helper()
		_, _, err := runCmd(t, "demo", "--server", server, "--data", data, "--exit")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want it to say %q", name, err, want)
		}
		if _, err := os.Stat(data); !os.IsNotExist(err) {
			t.Errorf("%s: the demo left %s", name, data)
		}
		if _, err := os.Stat(filepath.Join(wd, "genscope-data")); !os.IsNotExist(err) {
			t.Errorf("%s: the demo left ./genscope-data", name)
		}
	}
	// A genscope behind a self-signed certificate.
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) }))
	defer tlsSrv.Close()
	check("self-signed", tlsSrv.URL, "certificate this machine does not trust")
	// Plain HTTP to an HTTPS port.
	check("http to https", "http://"+strings.TrimPrefix(tlsSrv.URL, "https://"), "not genscope")
	// Something else on the port.
	other := httptest.NewServer(http.NotFoundHandler())
	defer other.Close()
	check("another server", other.URL, "not genscope")
	// HTTPS where nothing listens: the demo does not start a plain server.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	free := ln.Addr().String()
	ln.Close()
	check("https, nothing there", "https://"+free, "starts plain-HTTP servers only")
	// A remote address: never started here.
	check("remote", "http://192.0.2.1:4318", "192.0.2.1:4318")
}
