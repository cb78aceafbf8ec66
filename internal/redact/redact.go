package redact

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Redactor masks what its patterns match. It is safe for concurrent use.
type Redactor struct {
	rules []rule
}

type rule struct {
	re    *regexp.Regexp
	label string
	check func(string) bool // nil: every match counts
}

// The masks written in place of what was found.
const (
	Email  = "[EMAIL]"
	Phone  = "[PHONE]"
	Card   = "[CARD]"
	IBAN   = "[IBAN]"
	Secret = "[SECRET]"
	Custom = "[REDACTED]"
)

// New returns a Redactor with the built-in rules and the extra regular
// expressions (Go syntax), which are masked as Custom.
func New(extra []string) (*Redactor, error) {
	r := &Redactor{rules: []rule{
		// Credentials first: they may contain digits that look like
		// phone or card numbers.
		{re: regexp.MustCompile(`\b(?:sk|pk|rk)-(?:proj-|ant-|live-|test-)?[A-Za-z0-9_-]{16,}`), label: Secret},
		{re: regexp.MustCompile(`\bgs[kus]_[A-Za-z0-9_-]{16,}`), label: Secret}, // genscope keys, user tokens, setup tokens
		{re: regexp.MustCompile(`\b(?:AKIA|ASIA)[0-9A-Z]{16}\b`), label: Secret},
		{re: regexp.MustCompile(`\bgh[pousr]_[A-Za-z0-9]{30,}\b`), label: Secret},
		{re: regexp.MustCompile(`\bgithub_pat_[A-Za-z0-9_]{40,}\b`), label: Secret},
		{re: regexp.MustCompile(`\bxox[abprs]-[A-Za-z0-9-]{10,}`), label: Secret},
		{re: regexp.MustCompile(`\bAIza[0-9A-Za-z_-]{35}\b`), label: Secret},
		{re: regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}`), label: Secret},
		{re: regexp.MustCompile(`(?i)\bbearer\s+[A-Za-z0-9._~+/-]{16,}=*`), label: Secret},
		{re: regexp.MustCompile(`(?i)\b(?:api[_-]?key|secret|password|passwd|token)\s*[:=]\s*["']?[^\s"',;]{8,}`), label: Secret},
		{re: regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}`), label: Email},
		{re: regexp.MustCompile(`\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b`), label: IBAN, check: ibanOK},
		{re: regexp.MustCompile(`\b\d(?:[ -]?\d){12,18}\b`), label: Card, check: luhnOK},
		{re: regexp.MustCompile(`(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}[ .-]\d{2,4}[ .-]\d{2,6}\b|\(\d{1,4}\)[ .-]?\d{2,4}[ .-]?\d{2,6}\b|\+\d{7,15}\b`), label: Phone, check: phoneOK},
	}}
	for i, p := range extra {
		re, err := regexp.Compile(p)
		if err != nil {
			return nil, fmt.Errorf("redaction pattern %d (%q): %w", i, p, err)
		}
		r.rules = append(r.rules, rule{re: re, label: Custom})
	}
	return r, nil
}

// Find returns the masks (Email, Phone, Card, IBAN, Secret, Custom) of
// what s contains, each once, in the order of the rules; nil when s
// contains nothing String would mask. It finds exactly what String
// masks (the rules apply in the same order, each to what the earlier
// ones left).
func (r *Redactor) Find(s string) []string {
	var out []string
	for _, ru := range r.rules {
		found := false
		s = ru.re.ReplaceAllStringFunc(s, func(m string) string {
			if ru.check == nil || ru.check(m) {
				found = true
				return ru.label
			}
			return m
		})
		if found && !slices.Contains(out, ru.label) {
			out = append(out, ru.label)
		}
	}
	return out
}

// String returns s with every match masked.
func (r *Redactor) String(s string) string {
	if s == "" {
		return s
	}
	for _, ru := range r.rules {
		if ru.check == nil {
			s = ru.re.ReplaceAllLiteralString(s, ru.label)
			continue
		}
		s = ru.re.ReplaceAllStringFunc(s, func(m string) string {
			if ru.check(m) {
				return ru.label
			}
			return m
		})
	}
	return s
}

func digits(s string) []byte {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			out = append(out, s[i]-'0')
		}
	}
	return out
}

// luhnOK reports whether the digits pass the Luhn check.
func luhnOK(s string) bool {
	d := digits(s)
	if len(d) < 13 || len(d) > 19 {
		return false
	}
	sum := 0
	for i := len(d) - 1; i >= 0; i-- {
		v := int(d[i])
		if (len(d)-1-i)%2 == 1 {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
	}
	return sum%10 == 0
}

// ibanOK reports whether s is an IBAN with a valid ISO 7064 checksum.
func ibanOK(s string) bool {
	s = strings.ReplaceAll(s, " ", "")
	if len(s) < 15 || len(s) > 34 {
		return false
	}
	s = s[4:] + s[:4]
	rem := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			rem = (rem*10 + int(c-'0')) % 97
		case c >= 'A' && c <= 'Z':
			rem = (rem*100 + int(c-'A'+10)) % 97
		default:
			return false
		}
	}
	return rem == 1
}

// phoneOK keeps dates, times and version numbers from being taken for
// phone numbers.
func phoneOK(s string) bool {
	n := len(digits(s))
	if n < 7 || n > 15 {
		return false
	}
	if isoDate.MatchString(s) {
		return false
	}
	return true
}

var isoDate = regexp.MustCompile(`^\d{4}[-./]\d{1,2}[-./]\d{1,2}$`)
