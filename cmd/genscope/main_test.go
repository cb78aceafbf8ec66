package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary be genscope itself in a child process.
func TestMain(m *testing.M) {
	if os.Getenv("GENSCOPE_MAIN_CHILD") == "1" {
		os.Args = append([]string{"genscope"}, os.Args[1:]...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// genscope returns the command running genscope with args in a child.
func genscope(bin string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "GENSCOPE_MAIN_CHILD=1")
	return cmd
}

func serveArgs(dir string) []string {
	return []string{"serve", "--data", dir, "--listen", "127.0.0.1:0", "--grpc-listen", ""}
}

// failsWith runs cmd and checks it exits 2 with exactly one line on
// standard error, which contains want, and no panic.
func failsWith(t *testing.T, cmd *exec.Cmd, want string) {
	t.Helper()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Errorf("exit: %v, want status 2; stderr:\n%s", err, stderr.String())
	}
	out := strings.TrimSpace(stderr.String())
	if strings.Count(out, "\n") != 0 || !strings.Contains(out, want) || strings.Contains(out, "panic") {
		t.Errorf("stderr %q, want one line with %q", out, want)
	}
}

// TestServeRefusesAnUnusableStore: a data directory another genscope is
// using, a database file that is not one, one that cannot be read and a
// directory in its place each stop "genscope serve" with status 2 and one
// line saying so (it used to panic in closeAll on a nil store).
func TestServeRefusesAnUnusableStore(t *testing.T) {
	bin := os.Args[0]
	t.Run("locked", func(t *testing.T) {
		dir := t.TempDir()
		first := genscope(bin, serveArgs(dir)...)
		pipe, _ := first.StderrPipe()
		if err := first.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = first.Process.Kill(); _ = first.Wait() }()
		serving := make(chan bool, 1)
		go func() {
			sc := bufio.NewScanner(pipe)
			for sc.Scan() {
				if strings.Contains(sc.Text(), "genscope is serving") {
					serving <- true
					break
				}
			}
			_, _ = io.Copy(io.Discard, pipe)
		}()
		select {
		case <-serving:
		case <-time.After(60 * time.Second):
			t.Fatal("the first genscope did not start")
		}
		failsWith(t, genscope(bin, serveArgs(dir)...), "another genscope (pid "+strconv.Itoa(first.Process.Pid)+") is using "+dir)
	})
	t.Run("garbage", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "genscope.duckdb")
		junk := make([]byte, 5000)
		_, _ = rand.Read(junk)
		if err := os.WriteFile(path, junk, 0o600); err != nil {
			t.Fatal(err)
		}
		failsWith(t, genscope(bin, serveArgs(dir)...), "not a genscope database: "+path)
	})
	t.Run("text", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "genscope.duckdb")
		if err := os.WriteFile(path, []byte("hello\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		failsWith(t, genscope(bin, serveArgs(dir)...), "not a genscope database: "+path)
	})
	t.Run("directory", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "genscope.duckdb")
		if err := os.Mkdir(path, 0o700); err != nil {
			t.Fatal(err)
		}
		failsWith(t, genscope(bin, serveArgs(dir)...), "cannot read "+path+": is a directory")
	})
	t.Run("unreadable", func(t *testing.T) {
		// Root reads any file: run the child as nobody, from a copy of
		// this binary it may execute, on a data directory it may write
		// but a database file it may not read.
		base, err := os.MkdirTemp("", "genscope-unreadable-")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(base)
		dir := filepath.Join(base, "data")
		if err := os.Mkdir(dir, 0o777); err != nil {
			t.Fatal(err)
		}
		_ = os.Chmod(base, 0o755)
		_ = os.Chmod(dir, 0o777)
		path := filepath.Join(dir, "genscope.duckdb")
		if err := os.WriteFile(path, nil, 0o000); err != nil {
			t.Fatal(err)
		}
		cmd := genscope(bin, serveArgs(dir)...)
		if os.Geteuid() == 0 {
			exe := filepath.Join(base, "genscope.test")
			b, err := os.ReadFile(bin)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(exe, b, 0o755); err != nil {
				t.Fatal(err)
			}
			cmd = genscope(exe, serveArgs(dir)...)
			cmd.Dir = base
			cmd.Env = append(cmd.Env, "HOME="+base, "GOCOVERDIR=")
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		}
		failsWith(t, cmd, "cannot read "+path+": permission denied")
	})
}

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
		"bench flood", "bench gateway", "bench alerts", "bench clickhouse", "version", "help"} {
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
