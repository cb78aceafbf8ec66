package clickhouse

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// closingServer answers INSERTs over HTTP/1.1 keep-alive; the second
// request on its first connection is read and then the connection is
// closed without an answer, as a server whose keep-alive timeout ran out
// under a request does. It records the bodies it answered.
type closingServer struct {
	ln       net.Listener
	mu       sync.Mutex
	answered []string
	dropped  int
	conns    int
}

func newClosingServer(t *testing.T) *closingServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &closingServer{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns++
			n := s.conns
			s.mu.Unlock()
			go s.serve(c, n == 1)
		}
	}()
	return s
}

func (s *closingServer) serve(c net.Conn, dropSecond bool) {
	defer c.Close()
	br := bufio.NewReader(c)
	for i := 0; ; i++ {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		body, _ := io.ReadAll(req.Body)
		if dropSecond && i == 1 {
			s.mu.Lock()
			s.dropped++
			s.mu.Unlock()
			return // closed under the request, no answer
		}
		s.mu.Lock()
		s.answered = append(s.answered, string(body))
		s.mu.Unlock()
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
	}
}

// TestInsertStaleConnection: an INSERT that fails on a reused keep-alive
// connection the server closed is sent again on a new connection, once,
// so a batch is neither lost nor stored twice; a failure on a new
// connection is not retried.
func TestInsertStaleConnection(t *testing.T) {
	s := newClosingServer(t)
	in := newInserter(s.ln.Addr().String(), "default", "secret", 5*time.Second, url.Values{}, nil)
	defer in.close()
	ctx := context.Background()
	if err := in.insert(ctx, "spans", []byte("first")); err != nil {
		t.Fatal(err)
	}
	if err := in.insert(ctx, "spans", []byte("second")); err != nil {
		t.Fatalf("the insert on the closed connection was not sent again: %v", err)
	}
	s.mu.Lock()
	got, dropped := strings.Join(s.answered, ","), s.dropped
	s.mu.Unlock()
	if got != "first,second" || dropped != 1 {
		t.Fatalf("server answered %q after dropping %d, want first,second after 1", got, dropped)
	}

	// A server that closes every new connection under the request: the
	// error is returned, not retried (the server may have read it).
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var mu sync.Mutex
	seen := 0
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if _, err := http.ReadRequest(bufio.NewReader(c)); err == nil {
				mu.Lock()
				seen++
				mu.Unlock()
			}
			c.Close()
		}
	}()
	in2 := newInserter(ln.Addr().String(), "default", "secret", 5*time.Second, url.Values{}, nil)
	defer in2.close()
	err = in2.insert(ctx, "spans", []byte("rows"))
	if err == nil || strings.Contains(err.Error(), "secret") {
		t.Fatalf("error %v (want one, without the password)", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if seen != 1 {
		t.Errorf("a failure on a new connection was sent %d times, want 1", seen)
	}
}
