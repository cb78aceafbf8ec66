package duckdb

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/store"
)

// TestKill9 runs a child process that writes batches and prints an
// acknowledgement after each Write returns, kills it with SIGKILL right
// after an acknowledgement, reopens the file and checks every
// acknowledged span is there.
func TestKill9(t *testing.T) {
	if os.Getenv("GENSCOPE_KILL9_CHILD") != "" {
		kill9Child()
		return
	}
	if testing.Short() {
		t.Skip("spawns a process")
	}
	path := filepath.Join(t.TempDir(), "crash.duckdb")
	cmd := exec.Command(os.Args[0], "-test.run=^TestKill9$")
	cmd.Env = append(os.Environ(), "GENSCOPE_KILL9_CHILD="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	acked := 0
	for sc.Scan() {
		if n, ok := strings.CutPrefix(sc.Text(), "ack "); ok {
			acked, _ = strconv.Atoi(n)
			if acked >= 20 {
				break
			}
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if acked < 20 {
		t.Fatalf("child acknowledged %d batches", acked)
	}
	db, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatalf("reopen after kill -9: %v", err)
	}
	defer db.Close()
	o, err := db.Overview(context.Background(), store.Filter{Project: "crash"})
	if err != nil {
		t.Fatal(err)
	}
	if o.Calls < int64(acked*100) {
		t.Errorf("after kill -9: %d calls, acknowledged %d", o.Calls, acked*100)
	}
}

func kill9Child() {
	path := os.Getenv("GENSCOPE_KILL9_CHILD")
	db, err := Open(context.Background(), path, Options{})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	for b := 1; ; b++ {
		spans := make([]genai.Span, 100)
		for i := range spans {
			sp := &spans[i]
			sp.Project, sp.Operation, sp.Name, sp.Status = "crash", "chat", "chat", genai.StatusOK
			sp.StartUnixNano = time.Now().UnixNano()
			sp.TraceID[0], sp.TraceID[1], sp.SpanID[0] = byte(b), byte(b>>8), byte(i)
		}
		if err := db.Write(context.Background(), &store.Batch{Spans: spans}); err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Printf("ack %d\n", b)
	}
}
