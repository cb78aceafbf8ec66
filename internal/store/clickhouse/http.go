package clickhouse

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
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
	tr := &http.Transport{MaxIdleConnsPerHost: 4, IdleConnTimeout: time.Minute, TLSHandshakeTimeout: 10 * time.Second}
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

// insert sends body (RowBinary rows) to table.
func (in *inserter) insert(ctx context.Context, table string, body []byte) error {
	q := url.Values{}
	for k, v := range in.settings {
		q[k] = v
	}
	q.Set("query", "INSERT INTO "+table+" FORMAT RowBinary")
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, in.base+"?"+q.Encode(), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.SetBasicAuth(in.user, in.password)
	resp, err := in.client.Do(req)
	if err != nil {
		return fmt.Errorf("insert into %s: %w", table, redact(err))
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("insert into %s: HTTP %d: %s", table, resp.StatusCode, bytes.TrimSpace(msg))
	}
	return nil
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
