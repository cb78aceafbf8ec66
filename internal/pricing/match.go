package pricing

import "strings"

// maxFastName is the longest model or provider name matched without an
// allocation; longer names (rare: a whole Vertex AI resource path is cut
// at its last slash first) are lowercased on the heap.
const maxFastName = 128

// normalizeName is the allocating form of the name normalization, used at
// New for the table's own names and overrides: the name after its last
// slash ("openai/gpt-4o", "models/gemini-1.5-pro"), lowercased, without a
// Bedrock vendor prefix ("us.anthropic.claude-..."), trimmed.
func normalizeName(name string) string {
	b := []byte(strings.ToLower(cutPath(name)))
	return string(stripVendor(b))
}

// cutPath trims spaces and keeps what follows the last slash.
func cutPath(name string) string {
	name = strings.TrimSpace(name)
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = strings.TrimSpace(name[i+1:])
	}
	return name
}

// lowerInto writes the ASCII-lowercased s into buf and returns the written
// part, or a lowercased heap copy when s does not fit or is not ASCII.
func lowerInto(buf *[maxFastName]byte, s string) []byte {
	if len(s) > len(buf) {
		return []byte(strings.ToLower(s))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 {
			// Non-ASCII: let the strings package handle the
			// case mapping, as normalizeName does.
			return []byte(strings.ToLower(s))
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	return buf[:len(s)]
}

// stripVendor removes a Bedrock-style vendor prefix: letters and dots
// ending in a dot before the first hyphen ("anthropic.", "us.anthropic.",
// "mistral."). A dot after the first hyphen ("gpt-4.1") or a prefix with a
// digit ("qwen2.5-72b") is part of the model name.
func stripVendor(b []byte) []byte {
	end := len(b)
	for i, c := range b {
		if c == '-' {
			end = i
			break
		}
	}
	dot := -1
	for i := end - 1; i >= 0; i-- {
		if b[i] == '.' {
			dot = i
			break
		}
	}
	if dot <= 0 {
		return b
	}
	for _, c := range b[:dot] {
		if c != '.' && (c < 'a' || c > 'z') {
			return b
		}
	}
	return b[dot+1:]
}

// isSeparator reports whether c may start a version suffix.
func isSeparator(c byte) bool { return c == '-' || c == '@' || c == ':' }

// isVersion reports whether seg, the text after separator sep, is a
// date or version part: a number of two or more digits ("2024", "08",
// "0613", "20241022", "001"), any number after '@' or ':' (Bedrock's
// "v2:0"), "v" and a number ("v2", "v1.5"), "latest" or "preview".
//
// A single digit after a hyphen is not a version: it names another model
// ("claude-opus-4-5" is not "claude-opus-4").
func isVersion(sep byte, seg []byte) bool {
	if len(seg) == 0 {
		return false
	}
	if allDigits(seg) {
		return len(seg) >= 2 || sep != '-'
	}
	if seg[0] == 'v' && len(seg) > 1 {
		rest := seg[1:]
		if i := indexByte(rest, '.'); i > 0 {
			return allDigits(rest[:i]) && allDigits(rest[i+1:])
		}
		return allDigits(rest)
	}
	// Compared in place: the conversions do not allocate.
	return string(seg) == "latest" || string(seg) == "preview"
}

func allDigits(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func indexByte(b []byte, c byte) int {
	for i := range b {
		if b[i] == c {
			return i
		}
	}
	return -1
}

// stripVendorString is stripVendor on a string of any case.
func stripVendorString(s string) string {
	end := strings.IndexByte(s, '-')
	if end < 0 {
		end = len(s)
	}
	dot := strings.LastIndexByte(s[:end], '.')
	if dot <= 0 {
		return s
	}
	for i := 0; i < dot; i++ {
		if c := s[i]; c != '.' && (c|0x20 < 'a' || c|0x20 > 'z') {
			return s
		}
	}
	return s[dot+1:]
}

// FNV-1a, 64 bits: hashed one byte at a time, so the hash of every
// prefix of a name comes out of one pass over it.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func hashString(s string) uint64 {
	h := uint64(fnvOffset)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * fnvPrime
	}
	return h
}

// index maps normalized model names to models: an open-addressing hash
// table keyed by hashes that lookup computes for all candidate prefixes of
// a name in one pass, so a miss costs a probe, not a string hash.
type index struct {
	slots []slot
	mask  uint64
}

type slot struct {
	hash uint64
	key  string
	m    *model
}

func newIndex(models map[string]*model) *index {
	n := 8
	for n < 4*len(models) {
		n *= 2
	}
	x := &index{slots: make([]slot, n), mask: uint64(n - 1)}
	for key, m := range models {
		h := hashString(key)
		i := mix(h) & x.mask
		for x.slots[i].m != nil {
			i = (i + 1) & x.mask
		}
		x.slots[i] = slot{hash: h, key: key, m: m}
	}
	return x
}

// mix spreads the hash's high bits into the low ones the mask keeps.
func mix(h uint64) uint64 { return h ^ h>>29 ^ h>>47 }

// get finds key b with hash h.
func (x *index) get(h uint64, b []byte) *model {
	for i := mix(h) & x.mask; ; i = (i + 1) & x.mask {
		s := &x.slots[i]
		if s.m == nil {
			return nil
		}
		if s.hash == h && s.key == string(b) {
			return s.m
		}
	}
}

// maxCuts is how many separator positions lookup remembers the prefix
// hash of; a name with more trailing version parts than that hashes the
// further prefixes again.
const maxCuts = 16

// lookup finds the model named name: the exact normalized name first (see
// normalizeName), then ever shorter prefixes of it, each cut at a
// separator and followed only by version parts ("gpt-4o-mini-2024-07-18"
// tries "gpt-4o-mini-2024-07", "gpt-4o-mini-2024", "gpt-4o-mini" and
// stops at "mini", which is not a version). So the longest known name wins
// and a suffix that names another model never matches a shorter one.
// It does not allocate for ASCII names of up to maxFastName bytes.
func (x *index) lookup(name string) *model { return x.find(cutPath(name), false) }

// find is lookup after cutPath. A name with non-ASCII bytes is lowercased
// by the strings package first (as normalizeName does; it turns some into
// ASCII, as the Kelvin sign into 'k'), then found again with lowered set.
func (x *index) find(raw string, lowered bool) *model {
	s := stripVendorString(raw)
	var buf [maxFastName]byte
	var b []byte
	if len(s) <= len(buf) {
		b = buf[:len(s)]
	} else {
		b = make([]byte, len(s))
	}
	// One pass: lowercase, hash, and remember the hash of the prefix
	// before each separator (the last maxCuts of them).
	var cutHash [maxCuts]uint64
	var cutAt [maxCuts]int
	var cuts uint
	h := uint64(fnvOffset)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 && !lowered {
			return x.find(strings.ToLower(raw), true)
		}
		if c-'A' < 26 {
			c += 'a' - 'A'
		}
		if isSeparator(c) {
			cutHash[cuts%maxCuts], cutAt[cuts%maxCuts] = h, i
			cuts++
		}
		b[i] = c
		h = (h ^ uint64(c)) * fnvPrime
	}
	if m := x.get(h, b); m != nil {
		return m
	}
	end := len(b)
	for j := cuts; j > 0; j-- {
		var k int
		if cuts-j < maxCuts {
			k, h = cutAt[(j-1)%maxCuts], cutHash[(j-1)%maxCuts]
		} else {
			k = end - 1
			for !isSeparator(b[k]) {
				k--
			}
			h = hashString(string(b[:k]))
		}
		if k == 0 || !isVersion(b[k], b[k+1:end]) {
			return nil
		}
		if m := x.get(h, b[:k]); m != nil {
			return m
		}
		end = k
	}
	return nil
}
