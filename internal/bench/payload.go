package bench

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// payload is a marshaled OTLP trace request with the positions of its
// trace ids, so that every send can carry fresh ids (a server that
// deduplicates retries must not see the same spans twice).
type payload struct {
	body    []byte
	offsets []int // where each 16-byte id (proto) or 32-hex-char id (JSON) starts
	json    bool
	spans   int
}

// stamp writes body into dst with every trace id XORed with a mask made
// from n, so spans of one trace keep sharing an id.
func (p *payload) stamp(dst []byte, n uint64) []byte {
	dst = append(dst[:0], p.body...)
	var mask [16]byte
	binary.LittleEndian.PutUint64(mask[:8], n*0x9E3779B97F4A7C15+1)
	binary.LittleEndian.PutUint64(mask[8:], n)
	for _, off := range p.offsets {
		if p.json {
			var id [16]byte
			_, _ = hex.Decode(id[:], dst[off:off+32])
			for i := range id {
				id[i] ^= mask[i]
			}
			hex.Encode(dst[off:off+32], id[:])
			continue
		}
		for i := 0; i < 16; i++ {
			dst[off+i] ^= mask[i]
		}
	}
	return dst
}

// jsonIDOffsets finds every "traceId":"…" value.
func jsonIDOffsets(body []byte) []int {
	key := []byte(`"traceId":"`)
	var offs []int
	for i := 0; ; {
		j := bytes.Index(body[i:], key)
		if j < 0 {
			return offs
		}
		off := i + j + len(key)
		offs = append(offs, off)
		i = off + 32
	}
}

// protoIDOffsets walks ExportTraceServiceRequest -> ResourceSpans (1) ->
// ScopeSpans (2) -> Span (2) -> trace_id (1) and returns where each trace
// id's bytes start.
func protoIDOffsets(body []byte) ([]int, error) {
	var offs []int
	var walk func(b []byte, base int, path []protowire.Number) error
	walk = func(b []byte, base int, path []protowire.Number) error {
		for pos := 0; pos < len(b); {
			num, typ, n := protowire.ConsumeTag(b[pos:])
			if n < 0 {
				return fmt.Errorf("bad tag at %d", base+pos)
			}
			pos += n
			if typ != protowire.BytesType {
				m := protowire.ConsumeFieldValue(num, typ, b[pos:])
				if m < 0 {
					return fmt.Errorf("bad field at %d", base+pos)
				}
				pos += m
				continue
			}
			v, m := protowire.ConsumeBytes(b[pos:])
			if m < 0 {
				return fmt.Errorf("bad bytes at %d", base+pos)
			}
			start := base + pos + (m - len(v))
			depth := len(path)
			switch {
			case depth < 3 && ((depth == 0 && num == 1) || (depth > 0 && num == 2)):
				if err := walk(v, start, append(path, num)); err != nil {
					return err
				}
			case depth == 3 && num == 1 && len(v) == 16:
				offs = append(offs, start)
			}
			pos += m
		}
		return nil
	}
	return offs, walk(body, 0, nil)
}
