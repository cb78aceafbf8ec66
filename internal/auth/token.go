package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strings"

	"github.com/google/uuid"
)

// Token prefixes: gsk_ for project keys, gsu_ for user tokens.
const (
	KeyPrefix       = "gsk_"
	UserTokenPrefix = "gsu_"
	tokenBytes      = 32
	// tokenLen is the length of the base64url part of a token.
	tokenLen = 43
	// displayLen is how much of a token is shown when it is listed.
	displayLen = 8
)

// newToken returns a random token with the prefix.
func newToken(prefix string) string {
	b := make([]byte, tokenBytes)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// newID returns a short random id for listing and revoking.
func newID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// hashToken is the stored form of a token: hex SHA-256.
func hashToken(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}

// equal compares secrets in constant time (for equal lengths; the length
// of a configured token is not a secret worth hiding).
func equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// wellFormed reports whether tok looks like a token with the prefix: the
// prefix and 43 base64url characters. Checking the shape first keeps
// arbitrary input out of the lookup.
func wellFormed(tok, prefix string) bool {
	rest, ok := strings.CutPrefix(tok, prefix)
	if !ok || len(rest) != tokenLen {
		return false
	}
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// display is the part of a token shown in listings.
func display(tok string) string {
	i := strings.IndexByte(tok, '_')
	if i < 0 || len(tok) < i+1+displayLen {
		return ""
	}
	return tok[:i+1+displayLen] + "…"
}

// newIKey returns a random instrumentation key (a version 4 UUID).
func newIKey() string { return uuid.NewString() }

// normIKey is the canonical form of an instrumentation key (lower case,
// no braces), or "" when s is not a UUID.
func normIKey(s string) string {
	u, err := uuid.Parse(strings.TrimSpace(s))
	if err != nil {
		return ""
	}
	return u.String()
}

// BearerToken returns the token of an "Authorization: Bearer" header, or
// of the x-genscope-key header, or "".
func BearerToken(h http.Header) string {
	if v := h.Get("x-genscope-key"); v != "" {
		return strings.TrimSpace(v)
	}
	return parseBearer(h.Get("Authorization"))
}

// parseBearer returns the token of a "Bearer TOKEN" value (the scheme is
// case-insensitive), or "".
func parseBearer(v string) string {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(v), " ")
	if !ok || !strings.EqualFold(scheme, "bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}
