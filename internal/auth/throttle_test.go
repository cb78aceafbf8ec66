package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

func throttleService(t *testing.T, concurrent int) *Service {
	t.Helper()
	s, err := New(context.Background(), &MemStore{}, Options{BcryptCost: bcrypt.MinCost + 2, MaxConcurrentLogins: concurrent})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateUser(context.Background(), "u", "right-password", false); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestLoginConcurrentGuesses: 40 guesses at once for one user are not
// all checked (the count used to be read before bcrypt and written
// after): at most maxFailures reach bcrypt, and the right password sent
// while they are still being hashed is refused too.
func TestLoginConcurrentGuesses(t *testing.T) {
	s := throttleService(t, 64)
	var checked, throttled atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 39 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, _, err := s.Login(context.Background(), "u", fmt.Sprintf("guess-%d", i), fmt.Sprintf("192.0.2.%d", i))
			switch {
			case errors.Is(err, ErrUnauthorized):
				checked.Add(1)
			case errors.Is(err, ErrThrottled):
				throttled.Add(1)
			default:
				t.Errorf("guess %d: %v", i, err)
			}
		}()
	}
	close(start)
	// Once the allowed attempts are reserved (some may still be hashing),
	// the right password is one guess too many.
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.logins.mu.Lock()
		n := len(s.logins.users["u"])
		s.logins.mu.Unlock()
		if n >= maxFailures {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the guesses never reserved their attempts")
		}
		time.Sleep(time.Millisecond)
	}
	_, _, err := s.Login(context.Background(), "u", "right-password", "198.51.100.1")
	if !errors.Is(err, ErrThrottled) || RetryAfterSeconds(err) < 800 {
		t.Errorf("the right password among the later guesses: %v (retry after %ds)", err, RetryAfterSeconds(err))
	}
	wg.Wait()
	if checked.Load() > maxFailures || checked.Load()+throttled.Load() != 39 {
		t.Errorf("%d guesses checked, %d throttled; want at most %d checked", checked.Load(), throttled.Load(), maxFailures)
	}
	t.Logf("%d of 39 concurrent guesses checked, %d refused before hashing", checked.Load(), throttled.Load())
}

// TestLoginBoundsConcurrentHashing: logins for many users at once get at
// most MaxConcurrentLogins bcrypt slots; the rest are refused at once
// with a short Retry-After, and a right password still works afterwards.
func TestLoginBoundsConcurrentHashing(t *testing.T) {
	s := throttleService(t, 2)
	var busy, checked atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, _, err := s.Login(context.Background(), fmt.Sprintf("user-%d", i), "wrong-password", fmt.Sprintf("192.0.2.%d", i))
			var te *ThrottledError
			switch {
			case errors.As(err, &te) && te.RetryAfter == time.Second:
				busy.Add(1)
			case errors.Is(err, ErrUnauthorized):
				checked.Add(1)
			default:
				t.Errorf("login %d: %v", i, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if busy.Load() == 0 || busy.Load()+checked.Load() != 40 {
		t.Errorf("%d refused as busy, %d checked", busy.Load(), checked.Load())
	}
	if len(s.logins.hashes) != 0 {
		t.Errorf("%d hashing slots leaked", len(s.logins.hashes))
	}
	// A refusal for being busy is not a failure: the users are not
	// closer to their limit for it.
	s.logins.mu.Lock()
	for name, ts := range s.logins.users {
		if len(ts) > 1 {
			t.Errorf("%s: %d attempts counted", name, len(ts))
		}
	}
	s.logins.mu.Unlock()
	if _, _, err := s.Login(context.Background(), "u", "right-password", "192.0.2.200"); err != nil {
		t.Errorf("a right password after the burst: %v", err)
	}
}

// TestLoginThrottlePerAddress: one address guessing many user names is
// stopped after maxAddrFailures; another address is not.
func TestLoginThrottlePerAddress(t *testing.T) {
	s, err := New(context.Background(), &MemStore{}, Options{BcryptCost: bcrypt.MinCost})
	if err != nil {
		t.Fatal(err)
	}
	for i := range maxAddrFailures {
		if _, _, err := s.Login(context.Background(), fmt.Sprintf("user-%d", i), "x", "203.0.113.7"); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	if _, _, err := s.Login(context.Background(), "someone-else", "x", "203.0.113.7"); !errors.Is(err, ErrThrottled) {
		t.Errorf("attempt %d from one address: %v", maxAddrFailures+1, err)
	}
	if _, _, err := s.Login(context.Background(), "someone-else", "x", "203.0.113.8"); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("another address: %v", err)
	}
}

func TestClientAddr(t *testing.T) {
	trusted, err := ParseTrustedProxies([]string{"10.0.0.0/8", "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseTrustedProxies([]string{"proxy"}); err == nil {
		t.Error("a name was taken as a proxy")
	}
	f := func(remote, xff string, trusted []netip.Prefix, want string) {
		t.Helper()
		r := &http.Request{RemoteAddr: remote, Header: http.Header{}}
		if xff != "" {
			r.Header.Set("X-Forwarded-For", xff)
		}
		if got := ClientAddr(r, trusted); got != want {
			t.Errorf("ClientAddr(%s, %q) = %s, want %s", remote, xff, got, want)
		}
	}
	f("198.51.100.4:5555", "1.2.3.4", nil, "198.51.100.4")                // not configured: the header is ignored
	f("198.51.100.4:5555", "1.2.3.4", trusted, "198.51.100.4")            // not from a trusted proxy
	f("127.0.0.1:5555", "1.2.3.4", trusted, "1.2.3.4")                    // from the proxy
	f("127.0.0.1:5555", "6.6.6.6, 1.2.3.4, 10.1.1.1", trusted, "1.2.3.4") // the client's own claim is not taken
	f("[::ffff:127.0.0.1]:5555", "1.2.3.4", trusted, "1.2.3.4")
	f("127.0.0.1:5555", "", trusted, "127.0.0.1")
}
