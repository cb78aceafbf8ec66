package gateway

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// respCache is the exact-match response cache: one file per answer in a
// directory of the data directory, named by the hash of its key, with an
// index in memory (rebuilt from the files' headers at start) that
// bounds the total size (least recently used out first) and the age.
//
// Files rather than the DuckDB store: an answer is a blob read whole by
// key, written once and deleted by age or size, which a directory does
// with no lock shared with the span writer and no migrations; renames
// make each write atomic, so a crash leaves whole entries or none.
type respCache struct {
	dir      string
	ttl      time.Duration
	maxBytes int64

	mu    sync.Mutex
	index map[string]*cacheEntry // by file name
	size  int64
}

type cacheEntry struct {
	size    int64
	expires int64 // Unix nanoseconds
	used    int64 // last hit or write, Unix nanoseconds
}

// cached is one answer as kept: a whole body, or a stream's events.
type cached struct {
	deployment  string
	stream      bool
	contentType string
	body        []byte   // non-streamed answer
	events      [][]byte // a stream's events' data, in order
}

const cacheMagic = "GSC1"

// openCache opens (creating) dir and indexes what it holds, deleting
// expired and unreadable entries.
func openCache(dir string, ttl time.Duration, maxBytes int64) (*respCache, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("gateway cache %s: %w", dir, err)
	}
	c := &respCache{dir: dir, ttl: ttl, maxBytes: maxBytes, index: map[string]*cacheEntry{}}
	now := time.Now().UnixNano()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		name := d.Name()
		if strings.HasPrefix(name, ".tmp-") {
			_ = os.Remove(path) // a write that did not finish
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return nil
		}
		var head [12]byte
		_, rerr := f.Read(head[:])
		st, serr := f.Stat()
		f.Close()
		expires := int64(binary.BigEndian.Uint64(head[4:]))
		if rerr != nil || serr != nil || string(head[:4]) != cacheMagic || expires <= now || len(name) != 64 {
			_ = os.Remove(path)
			return nil
		}
		c.index[name] = &cacheEntry{size: st.Size(), expires: expires, used: st.ModTime().UnixNano()}
		c.size += st.Size()
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("gateway cache %s: %w", dir, err)
	}
	c.mu.Lock()
	c.evict()
	c.mu.Unlock()
	return c, nil
}

// cacheKey is the hash of what makes two calls the same: the project,
// the name called, the operation, and the request's top-level members
// sorted by name (so their order and the whitespace between them do not
// matter), without stream_options and user, which do not change the
// answer.
func cacheKey(project, name, op string, body []byte, ms []member) string {
	h := sha256.New()
	for _, s := range []string{project, name, op} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	idx := make([]int, 0, len(ms))
	for i := range ms {
		switch string(body[ms[i].keyStart:ms[i].keyEnd]) {
		case `"stream_options"`, `"user"`:
			continue
		}
		idx = append(idx, i)
	}
	slices.SortFunc(idx, func(a, b int) int {
		return bytes.Compare(body[ms[a].keyStart:ms[a].keyEnd], body[ms[b].keyStart:ms[b].keyEnd])
	})
	for _, i := range idx {
		h.Write(body[ms[i].keyStart:ms[i].keyEnd])
		h.Write([]byte{0})
		h.Write(body[ms[i].valStart:ms[i].valEnd])
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// get returns the answer kept under key, if it has not expired.
func (c *respCache) get(key string) (*cached, bool) {
	now := time.Now().UnixNano()
	c.mu.Lock()
	e := c.index[key]
	if e == nil {
		c.mu.Unlock()
		return nil, false
	}
	if e.expires <= now {
		c.drop(key)
		c.mu.Unlock()
		return nil, false
	}
	e.used = now
	c.mu.Unlock()
	b, err := os.ReadFile(filepath.Join(c.dir, key))
	if err != nil {
		return nil, false
	}
	a, err := decodeCached(b)
	if err != nil {
		c.mu.Lock()
		c.drop(key)
		c.mu.Unlock()
		return nil, false
	}
	return a, true
}

// put keeps an answer under key, replacing what was there.
func (c *respCache) put(key string, a *cached) error {
	b := encodeCached(a, time.Now().Add(c.ttl))
	if int64(len(b)) > c.maxBytes {
		return nil // larger than the whole cache
	}
	tmp, err := os.CreateTemp(c.dir, ".tmp-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(b)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(c.dir, key))
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	now := time.Now()
	c.mu.Lock()
	if old := c.index[key]; old != nil {
		c.size -= old.size
	}
	c.index[key] = &cacheEntry{size: int64(len(b)), expires: now.Add(c.ttl).UnixNano(), used: now.UnixNano()}
	c.size += int64(len(b))
	c.evict()
	c.mu.Unlock()
	return nil
}

// evict deletes the least recently used entries until the cache fits.
// c.mu is held.
func (c *respCache) evict() {
	if c.size <= c.maxBytes {
		return
	}
	keys := make([]string, 0, len(c.index))
	for k := range c.index {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return int(min(max(c.index[a].used-c.index[b].used, -1), 1)) })
	for _, k := range keys {
		if c.size <= c.maxBytes {
			return
		}
		c.drop(k)
	}
}

// drop deletes an entry; c.mu is held.
func (c *respCache) drop(key string) {
	if e := c.index[key]; e != nil {
		c.size -= e.size
		delete(c.index, key)
	}
	_ = os.Remove(filepath.Join(c.dir, key))
}

// The entry file: magic, expiry (Unix ns), then length-prefixed fields:
// deployment, content type, a stream flag, and the body or the events.
func encodeCached(a *cached, expires time.Time) []byte {
	b := make([]byte, 0, 64+len(a.body)+16*len(a.events))
	b = append(b, cacheMagic...)
	b = binary.BigEndian.AppendUint64(b, uint64(expires.UnixNano()))
	field := func(v []byte) { b = binary.AppendUvarint(b, uint64(len(v))); b = append(b, v...) }
	field([]byte(a.deployment))
	field([]byte(a.contentType))
	if a.stream {
		b = append(b, 1)
		b = binary.AppendUvarint(b, uint64(len(a.events)))
		for _, ev := range a.events {
			field(ev)
		}
	} else {
		b = append(b, 0)
		field(a.body)
	}
	return b
}

var errBadEntry = errors.New("gateway cache: unreadable entry")

func decodeCached(b []byte) (*cached, error) {
	if len(b) < 13 || string(b[:4]) != cacheMagic {
		return nil, errBadEntry
	}
	b = b[12:]
	bad := false
	num := func() uint64 {
		n, k := binary.Uvarint(b)
		if k <= 0 {
			bad = true
			return 0
		}
		b = b[k:]
		return n
	}
	field := func() []byte {
		n := num()
		if bad || n > uint64(len(b)) {
			bad = true
			return nil
		}
		v := b[:n:n]
		b = b[n:]
		return v
	}
	a := &cached{deployment: string(field()), contentType: string(field())}
	if bad || len(b) == 0 {
		return nil, errBadEntry
	}
	a.stream = b[0] == 1
	b = b[1:]
	if a.stream {
		n := num()
		if n > uint64(len(b)) {
			return nil, errBadEntry
		}
		for range n {
			a.events = append(a.events, field())
		}
	} else {
		a.body = field()
	}
	if bad {
		return nil, errBadEntry
	}
	return a, nil
}

// CacheAttribute is the call span's attribute that says the answer came
// from the response cache ("hit") or was looked up there first ("miss").
// Pricing gives a hit no cost and records what it saved.
const CacheAttribute = "genscope.gateway.cache"

// cacheWanted reports whether a call uses the cache: the request's
// x-genscope-cache header (true or false) decides, else the route's or
// the deployment's cache setting.
func (g *Gateway) cacheWanted(r *http.Request, d *deployment, rt *route) bool {
	switch strings.ToLower(r.Header.Get("x-genscope-cache")) {
	case "true", "on", "1":
		return true
	case "false", "off", "0", "no-store":
		return false
	}
	if rt != nil {
		return rt.cfg.Cache
	}
	return d.cfg.Cache
}

// serveCached answers from the cache, a stream as a stream, and records
// the call as the deployment that first answered it.
func (g *Gateway) serveCached(w http.ResponseWriter, r *http.Request, c *call, a *cached, body []byte, ms []member) {
	c.deployment = g.deps[a.deployment]
	c.cacheHit = true
	c.status = http.StatusOK
	h := w.Header()
	h.Set("x-genscope-cache", "hit")
	if !a.stream {
		h.Set("Content-Type", a.contentType)
		h.Set("Content-Length", strconv.Itoa(len(a.body)))
		w.WriteHeader(http.StatusOK)
		if _, err := w.Write(a.body); err != nil {
			c.status, c.errType, c.errMsg = 499, "client_disconnected", "the client went away while the answer was sent"
		}
		if int64(len(a.body)) <= g.opts.MaxRecordBytes {
			c.respBody = a.body
		} else {
			c.dropped = true
		}
		g.finish(c)
		return
	}
	so, ok := find(body, ms, "stream_options")
	strip := !ok || !includeUsage(so.value(body))
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	var out []byte
	for _, ev := range a.events {
		raw := append(append([]byte("data: "), ev...), '\n', '\n')
		if strip {
			raw = stripUsageEvent(raw, ev)
		}
		out = append(out, raw...)
		start := len(c.evBuf)
		c.evBuf = append(c.evBuf, ev...)
		c.events = append(c.events, event{at: time.Since(c.start), start: start, end: len(c.evBuf)})
	}
	out = append(out, "data: [DONE]\n\n"...)
	if _, err := w.Write(out); err != nil {
		c.status, c.errType, c.errMsg = 499, "client_disconnected", "the client went away during the stream"
	}
	_ = http.NewResponseController(w).Flush()
	g.finish(c)
}

// keep puts a successful answer in the cache (on a record worker, off
// the call's path).
func (g *Gateway) keep(c *call) {
	if c.status != http.StatusOK || c.errType != "" || c.dropped || c.deployment == nil {
		return
	}
	a := &cached{deployment: c.deployment.cfg.Name, stream: c.stream, contentType: c.contentType}
	if c.stream {
		if len(c.events) == 0 {
			return
		}
		for _, ev := range c.events {
			a.events = append(a.events, c.evBuf[ev.start:ev.end])
		}
	} else {
		if len(c.respBody) == 0 {
			return
		}
		a.body = c.respBody
	}
	if err := g.cache.put(c.cacheKey, a); err != nil {
		g.log.Warn("gateway cache: answer not kept", "err", err)
	}
}
