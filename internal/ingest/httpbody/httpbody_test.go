package httpbody

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func read(t *testing.T, limit int64, body []byte, encoding string) ([]byte, error) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	if encoding != "" {
		req.Header.Set("Content-Encoding", encoding)
	}
	return New(limit).Read(httptest.NewRecorder(), req, nil)
}

func compress(t *testing.T, enc string, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w io.WriteCloser
	switch enc {
	case "gzip":
		w = gzip.NewWriter(&buf)
	case "deflate":
		w = zlib.NewWriter(&buf)
	case "raw":
		w, _ = flate.NewWriter(&buf, flate.DefaultCompression)
	}
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func kind(err error) Kind {
	var e *Error
	if !errors.As(err, &e) {
		return -1
	}
	return e.Kind
}

func TestRead(t *testing.T) {
	payload := []byte(strings.Repeat("genai ", 1000))
	for _, c := range []struct {
		name, header string
		body         []byte
	}{
		{"plain", "", payload},
		{"identity", "identity", payload},
		{"gzip", "gzip", compress(t, "gzip", payload)},
		{"zlib", "deflate", compress(t, "deflate", payload)},
		{"raw deflate", "deflate", compress(t, "raw", payload)},
	} {
		got, err := read(t, 1<<20, c.body, c.header)
		if err != nil || !bytes.Equal(got, payload) {
			t.Errorf("%s: %d bytes, %v", c.name, len(got), err)
		}
	}
	if _, err := read(t, 1<<20, payload, "br"); kind(err) != Unsupported {
		t.Errorf("br: %v, want Unsupported", err)
	}
	if _, err := read(t, 1<<20, []byte("not gzip"), "gzip"); kind(err) != Malformed {
		t.Errorf("bad gzip: %v, want Malformed", err)
	}
	if _, err := read(t, 100, payload, ""); kind(err) != TooLarge {
		t.Errorf("over the limit: %v, want TooLarge", err)
	}
	if got, err := read(t, int64(len(payload)), payload, ""); err != nil || len(got) != len(payload) {
		t.Errorf("exactly at the limit: %d, %v", len(got), err)
	}
}

// A gzip bomb (64 MiB of zeros in ~64 KB) is refused
// after inflating just past the limit.
func TestGzipBomb(t *testing.T) {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zero := make([]byte, 1<<20)
	for range 64 {
		zw.Write(zero)
	}
	zw.Close()
	start := time.Now()
	_, err := read(t, 1<<20, buf.Bytes(), "gzip")
	if kind(err) != TooLarge {
		t.Fatalf("bomb: %v, want TooLarge", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("bomb took %s: the reader must stop at the limit", d)
	}
}
