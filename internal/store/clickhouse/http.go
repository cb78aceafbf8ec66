package clickhouse

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"syscall"
	"time"
)

// inserter sends INSERT blocks over ClickHouse's HTTP interface. Queries
// use the native protocol; inserts do not, because clickhouse-go/v2's
// batch insert cannot read the table header 18.16 sends (it sees a block
// of no columns), and its HTTP mode sends settings 18.16 rejects. One
// POST of RowBinary rows is one INSERT block.
type inserter struct {
	client   *http.Client
	base     string // http://host:port/ or https://
	user     string
	password string // sent as basic auth, never logged
	settings url.Values
}

func newInserter(addr, user, password string, timeout time.Duration, settings url.Values, tlsConf *tls.Config) *inserter {
	// Idle connections are dropped before ClickHouse's keep_alive_timeout
	// (3 s by default) would close them under a request.
	tr := &http.Transport{MaxIdleConnsPerHost: 4, IdleConnTimeout: 2 * time.Second, TLSHandshakeTimeout: 10 * time.Second}
	scheme := "http://"
	if tlsConf != nil {
		tr.TLSClientConfig = tlsConf.Clone()
		scheme = "https://"
	}
	return &inserter{
		client:   &http.Client{Timeout: timeout, Transport: tr},
		base:     scheme + addr + "/",
		user:     user,
		password: password,
		settings: settings,
	}
}

// insert sends body (RowBinary rows) to table. A request that failed on
// a reused keep-alive connection before any answer (the server closed it
// while idle: broken pipe, reset, EOF) is sent once more on a new one;
// the server read none of it, so no row is inserted twice.
func (in *inserter) insert(ctx context.Context, table string, body []byte) error {
	q := url.Values{}
	for k, v := range in.settings {
		q[k] = v
	}
	q.Set("query", "INSERT INTO "+table+" FORMAT RowBinary")
	target := in.base + "?" + q.Encode()
	for attempt := 0; ; attempt++ {
		var reused bool
		trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }}
		req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), http.MethodPost, target, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.SetBasicAuth(in.user, in.password)
		resp, err := in.client.Do(req)
		if err != nil {
			if reused && attempt == 0 && ctx.Err() == nil && staleConn(err) {
				continue
			}
			return fmt.Errorf("insert into %s: %w", table, redact(err))
		}
		defer resp.Body.Close()
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("insert into %s: HTTP %d: %s", table, resp.StatusCode, bytes.TrimSpace(msg))
		}
		return nil
	}
}

// staleConn reports whether err is a connection the server had closed:
// writing to it broke, it was reset, or it ended before any answer.
func staleConn(err error) bool {
	return errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// redact drops the URL (with its query) from a client error.
func redact(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

func (in *inserter) close() { in.client.CloseIdleConnections() }

// rowBinary builds rows in ClickHouse's RowBinary format: little-endian
// fixed-width numbers, strings prefixed by their length as a varint.
type rowBinary struct{ buf []byte }

func (r *rowBinary) str(s string) {
	r.buf = binary.AppendUvarint(r.buf, uint64(len(s)))
	r.buf = append(r.buf, s...)
}
func (r *rowBinary) bytes(b []byte) {
	r.buf = binary.AppendUvarint(r.buf, uint64(len(b)))
	r.buf = append(r.buf, b...)
}
func (r *rowBinary) i64(v int64)  { r.buf = binary.LittleEndian.AppendUint64(r.buf, uint64(v)) }
func (r *rowBinary) u64(v uint64) { r.buf = binary.LittleEndian.AppendUint64(r.buf, v) }
func (r *rowBinary) i32(v int32)  { r.buf = binary.LittleEndian.AppendUint32(r.buf, uint32(v)) }
func (r *rowBinary) u8(v uint8)   { r.buf = append(r.buf, v) }
func (r *rowBinary) f64(v float64) {
	r.buf = binary.LittleEndian.AppendUint64(r.buf, math.Float64bits(v))
}
func (r *rowBinary) b(v bool) {
	if v {
		r.u8(1)
	} else {
		r.u8(0)
	}
}

// day writes the UTC day of a time in nanoseconds as a Date (days since
// the epoch).
func (r *rowBinary) day(ns int64) {
	r.buf = binary.LittleEndian.AppendUint16(r.buf, uint16(dayOf(ns)))
}

// dayOf is the UTC day of a time in nanoseconds, in days since the epoch,
// as a Date column holds it (days before the epoch are day 0).
func dayOf(ns int64) int64 {
	d := ns / int64(24*time.Hour)
	if ns < 0 && ns%int64(24*time.Hour) != 0 {
		d--
	}
	return max(d, 0)
}
