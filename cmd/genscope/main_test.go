package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"errors"
	"io"
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
