package notifytest

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// Mail is one message the SMTP server received.
type Mail struct {
	From string
	To   []string
	Data string
}

// SMTPServer is an in-process SMTP server on loopback.
type SMTPServer struct {
	Host string
	Port int

	mu   sync.Mutex
	mail []Mail
}

// StartSMTP starts an SMTP server (no TLS, no authentication) for the
// test's lifetime.
func StartSMTP(t testing.TB) *SMTPServer {
	t.Helper()
	s := &SMTPServer{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{s: s}, nil }))
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := ln.Addr().(*net.TCPAddr)
	s.Host, s.Port = a.IP.String(), a.Port
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

// Mail returns the messages received so far.
func (s *SMTPServer) Mail() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.mail...)
}

type session struct {
	s    *SMTPServer
	from string
	to   []string
}

func (x *session) Reset()        { x.from, x.to = "", nil }
func (x *session) Logout() error { return nil }
func (x *session) Mail(from string, _ *smtp.MailOptions) error {
	x.from = from
	return nil
}
func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.to = append(x.to, to)
	return nil
}
func (x *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	x.s.mu.Lock()
	x.s.mail = append(x.s.mail, Mail{From: x.from, To: x.to, Data: string(b)})
	x.s.mu.Unlock()
	return nil
}

// Request is one request the webhook received.
type Request struct {
	Header http.Header
	Body   []byte
}

// JSON decodes the body.
func (r Request) JSON() map[string]any {
	var m map[string]any
	_ = json.Unmarshal(r.Body, &m)
	return m
}

// Webhook is an HTTP endpoint on loopback that records what it gets.
type Webhook struct {
	URL string

	mu   sync.Mutex
	reqs []Request
	// answer decides the status of each request (nil: 200); it may block
	// to make the endpoint hang.
	answer func(n int) int
	hits   int
}

// StartWebhook starts a webhook endpoint for the test's lifetime.
func StartWebhook(t testing.TB) *Webhook {
	t.Helper()
	w := &Webhook{}
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.mu.Lock()
		w.hits++
		n, answer := w.hits, w.answer
		w.mu.Unlock()
		code := http.StatusOK
		if answer != nil {
			code = answer(n)
		}
		if code == http.StatusOK {
			w.mu.Lock()
			w.reqs = append(w.reqs, Request{Header: r.Header.Clone(), Body: b})
			w.mu.Unlock()
		}
		rw.WriteHeader(code)
	}))
	t.Cleanup(srv.Close)
	w.URL = srv.URL + "/hook"
	return w
}

// Answer sets how the endpoint answers its n-th request (from 1).
func (w *Webhook) Answer(f func(n int) int) {
	w.mu.Lock()
	w.answer = f
	w.mu.Unlock()
}

// Requests returns the requests answered with 200 so far.
func (w *Webhook) Requests() []Request {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]Request(nil), w.reqs...)
}

// Hits is how many requests arrived, whatever the answer.
func (w *Webhook) Hits() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.hits
}

// Wait polls cond every 10ms until it holds or timeout passes.
func Wait(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
