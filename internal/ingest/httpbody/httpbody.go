package httpbody

import (
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
)

// Kind says why a body could not be read.
type Kind int

// The kinds of Error.
const (
	TooLarge    Kind = iota // over the limit, before or after decompression: 413
	Unsupported             // an unknown Content-Encoding: 415
	Malformed               // unreadable or corrupt compressed data: 400
	Busy                    // the Gate has no room for it: 429, retry later
)

// Error is a body that could not be read. Msg is for the client; Err is the
// cause, for the log.
type Error struct {
	Kind Kind
	Msg  string
	Err  error
}

func (e *Error) Error() string { return e.Msg }

func (e *Error) Unwrap() error { return e.Err }

// Status is the HTTP status that answers the error: 413, 415, 429 or 400.
func (e *Error) Status() int {
	switch e.Kind {
	case TooLarge:
		return http.StatusRequestEntityTooLarge
	case Unsupported:
		return http.StatusUnsupportedMediaType
	case Busy:
		return http.StatusTooManyRequests
	}
	return http.StatusBadRequest
}

// Reader reads bodies of at most Limit bytes after decompression. It is
// safe for concurrent use.
type Reader struct {
	limit int64
	gate  *Gate
	gzips sync.Pool // *gzip.Reader
}

// New returns a Reader with the given limit.
func New(limit int64) *Reader { return &Reader{limit: limit} }

// NewGated returns a Reader with the given limit that admits bodies
// through gate (see ReadAdmitted); a nil gate admits everything.
func NewGated(limit int64, gate *Gate) *Reader { return &Reader{limit: limit, gate: gate} }

// Read appends the body of req, decompressed, to buf.
func (r *Reader) Read(w http.ResponseWriter, req *http.Request, buf []byte) ([]byte, error) {
	return r.read(w, req, buf, nil)
}

// minLease is the first step of a lease on a body of unknown size.
const minLease = 64 << 10

// ReadAdmitted is Read through the Reader's Gate: the bytes of the body
// are admitted before they are read — a Content-Length at once, a body
// of unknown length (or its decompressed bytes, as they are inflated) in
// doubling steps — and a body that does not fit is refused with a Busy
// error having read no more than was admitted. The returned lease holds
// the bytes until the caller releases it, when it no longer holds the
// body or anything decoded from it; it is never nil.
func (r *Reader) ReadAdmitted(w http.ResponseWriter, req *http.Request, buf []byte) ([]byte, *Lease, error) {
	l := r.gate.Lease()
	if r.gate == nil {
		l = nil
	}
	first := int64(minLease)
	if req.ContentLength > 0 {
		first = max(first, min(req.ContentLength, r.limit+1))
	}
	if !l.Grow(first) {
		return buf, &Lease{}, r.busy()
	}
	buf, err := r.read(w, req, buf, l)
	if l == nil {
		l = &Lease{}
	}
	return buf, l, err
}

func (r *Reader) busy() *Error {
	return &Error{Kind: Busy, Msg: r.gate.BusyMessage()}
}

func (r *Reader) read(w http.ResponseWriter, req *http.Request, buf []byte, l *Lease) ([]byte, error) {
	limit := r.limit
	// Deflate never grows data by more than a few bytes per 16 KiB block, so
	// a compressed body larger than this cannot fit the limit inflated.
	rawLimit := limit + limit/1024 + 1024
	tooLarge := &Error{Kind: TooLarge, Msg: fmt.Sprintf("request body larger than %d bytes", limit)}
	if req.ContentLength > rawLimit {
		return buf, tooLarge
	}
	body := http.MaxBytesReader(w, req.Body, rawLimit)

	var src io.Reader
	switch ce := strings.ToLower(strings.TrimSpace(req.Header.Get("Content-Encoding"))); ce {
	case "", "identity":
		src = body
		if n := req.ContentLength; n > 0 && int64(cap(buf)) <= min(n, limit) {
			// One allocation for the whole body, and room to see EOF.
			buf = make([]byte, len(buf), int64(len(buf))+min(n, limit)+1)
		}
	case "gzip", "x-gzip":
		zr, err := r.getGzip(body)
		if err != nil {
			return buf, readError(err, tooLarge)
		}
		defer r.gzips.Put(zr)
		src = zr
	case "deflate":
		// HTTP's deflate is zlib (RFC 9110 8.4.1.2); some clients send raw
		// deflate, recognized by the missing zlib header.
		p := peek(body)
		if zlibHeader(p.head) {
			zr, err := zlib.NewReader(p)
			if err != nil {
				return buf, readError(err, tooLarge)
			}
			defer zr.Close()
			src = zr
		} else {
			fr := flate.NewReader(p)
			defer fr.Close()
			src = fr
		}
	default:
		return buf, &Error{Kind: Unsupported, Msg: fmt.Sprintf("unsupported Content-Encoding %q: want gzip, deflate or none", clip(ce))}
	}
	buf, err := readLimited(buf, src, limit, l)
	switch {
	case errors.Is(err, errTooLarge):
		return buf, tooLarge
	case errors.Is(err, errBusy):
		return buf, r.busy()
	case err != nil:
		return buf, readError(err, tooLarge)
	}
	return buf, nil
}

func (r *Reader) getGzip(src io.Reader) (*gzip.Reader, error) {
	if zr, ok := r.gzips.Get().(*gzip.Reader); ok {
		if err := zr.Reset(src); err != nil {
			r.gzips.Put(zr)
			return nil, err
		}
		return zr, nil
	}
	return gzip.NewReader(src)
}

var (
	errTooLarge = errors.New("body too large")
	errBusy     = errors.New("no room in flight")
)

// readLimited appends all of src to buf, growing it to at most limit+1
// bytes past its start: it returns errTooLarge as soon as src has more
// than limit bytes, having read limit+1 of them and no more. With a lease
// it reads no byte the lease does not hold, growing it in doubling steps,
// and returns errBusy when the gate refuses a step.
func readLimited(buf []byte, src io.Reader, limit int64, l *Lease) ([]byte, error) {
	start := int64(len(buf))
	for {
		read := int64(len(buf)) - start
		if read > limit {
			return buf, errTooLarge
		}
		if l != nil && read >= l.Held() {
			if !l.Grow(min(max(2*l.Held(), minLease), limit+1)) {
				return buf, errBusy
			}
		}
		if len(buf) == cap(buf) {
			grown := make([]byte, len(buf), start+min(max(2*(int64(cap(buf))-start), 32<<10), limit+1))
			copy(grown, buf)
			buf = grown
		}
		end := cap(buf)
		if l != nil {
			end = int(min(int64(end), start+l.Held()))
		}
		n, err := src.Read(buf[len(buf):end])
		buf = buf[:len(buf)+n]
		switch {
		case err == io.EOF:
			if int64(len(buf))-start > limit {
				return buf, errTooLarge
			}
			return buf, nil
		case err != nil:
			return buf, err
		}
	}
}

// readError classifies a failure to read or inflate the body.
func readError(err error, tooLarge *Error) *Error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return tooLarge
	}
	msg := "cannot read request body"
	var ce flate.CorruptInputError
	switch {
	case errors.Is(err, gzip.ErrHeader), errors.Is(err, gzip.ErrChecksum),
		errors.Is(err, zlib.ErrHeader), errors.Is(err, zlib.ErrChecksum), errors.Is(err, zlib.ErrDictionary),
		errors.As(err, &ce), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		msg = "cannot decompress request body: " + err.Error()
	}
	return &Error{Kind: Malformed, Msg: msg, Err: err}
}

// peeked is a reader whose first two bytes were read ahead.
type peeked struct {
	head []byte
	off  int
	r    io.Reader
}

func peek(r io.Reader) *peeked {
	head := make([]byte, 2)
	n, _ := io.ReadFull(r, head)
	return &peeked{head: head[:n], r: r}
}

func (p *peeked) Read(b []byte) (int, error) {
	if p.off < len(p.head) {
		n := copy(b, p.head[p.off:])
		p.off += n
		return n, nil
	}
	return p.r.Read(b)
}

// ReadByte lets flate read without buffering past the stream.
func (p *peeked) ReadByte() (byte, error) {
	var b [1]byte
	if _, err := io.ReadFull(p, b[:]); err != nil {
		return 0, err
	}
	return b[0], nil
}

// zlibHeader reports whether h starts a zlib stream (RFC 1950).
func zlibHeader(h []byte) bool {
	return len(h) == 2 && h[0]&0x0f == 8 && (uint16(h[0])<<8|uint16(h[1]))%31 == 0
}

// clip bounds a client-supplied string before it is echoed.
func clip(s string) string {
	const max = 64
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}
