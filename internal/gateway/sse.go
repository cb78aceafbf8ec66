package gateway

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// sseReader splits a text/event-stream into events, keeping each event's
// raw bytes (so it can be forwarded exactly as received) next to its data
// field. Lines end in "\n" or "\r\n" (what OpenAI-compatible servers send;
// a bare "\r" is not taken as a line end).
type sseReader struct {
	br   *bufio.Reader
	max  int
	raw  []byte
	data []byte
}

// errEventTooLarge is returned for an event longer than the reader's limit.
var errEventTooLarge = errors.New("server-sent event too large")

func newSSEReader(r io.Reader, max int) *sseReader {
	return &sseReader{br: bufio.NewReaderSize(r, 16<<10), max: max}
}

// next returns the next event: its raw bytes, through the blank line that
// ends it, and its data (data lines joined by "\n"; hasData false when it
// had none, as for a comment). The slices are valid until the next call.
// At the end of the stream it returns io.EOF, with the bytes of an
// unfinished last event (if any) in raw. Any other error is the
// underlying reader's, or errEventTooLarge.
func (s *sseReader) next() (raw, data []byte, hasData bool, err error) {
	s.raw, s.data = s.raw[:0], s.data[:0]
	lineStart := 0
	for {
		chunk, rerr := s.br.ReadSlice('\n')
		s.raw = append(s.raw, chunk...)
		if len(s.raw) > s.max {
			return nil, nil, false, fmt.Errorf("%w: over %d bytes", errEventTooLarge, s.max)
		}
		switch {
		case rerr == bufio.ErrBufferFull:
			continue // the line goes on
		case rerr == io.EOF:
			if lineStart < len(s.raw) {
				hasData = s.field(s.raw[lineStart:], hasData) || hasData
			}
			return s.raw, s.data, hasData, io.EOF
		case rerr != nil:
			return s.raw, s.data, hasData, rerr
		}
		line := s.raw[lineStart:]
		line = line[:len(line)-1]
		line = bytes.TrimSuffix(line, []byte{'\r'})
		lineStart = len(s.raw)
		if len(line) == 0 {
			return s.raw, s.data, hasData, nil
		}
		hasData = s.field(line, hasData) || hasData
	}
}

// field handles one line; it reports whether it was a data line. more
// says whether the event already had data.
func (s *sseReader) field(line []byte, more bool) bool {
	line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte{'\n'}), []byte{'\r'})
	v, ok := bytes.CutPrefix(line, []byte("data"))
	if !ok {
		return false
	}
	switch {
	case len(v) == 0:
	case v[0] == ':':
		v = v[1:]
		if len(v) > 0 && v[0] == ' ' {
			v = v[1:]
		}
	default:
		return false // a field named data-something
	}
	if more {
		s.data = append(s.data, '\n')
	}
	s.data = append(s.data, v...)
	return true
}

// eventBuffered reports whether a whole next event has already been read
// from the underlying reader (so it can be forwarded without waiting).
func (s *sseReader) eventBuffered() bool {
	n := s.br.Buffered()
	if n == 0 {
		return false
	}
	b, _ := s.br.Peek(n)
	return bytes.Contains(b, []byte("\n\n")) || bytes.Contains(b, []byte("\n\r\n"))
}
