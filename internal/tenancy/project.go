package tenancy

import (
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/genscope/genscope/internal/privacy"
	"github.com/genscope/genscope/internal/timeutil"
)

// DefaultProject always exists: with authentication off every record goes
// to it and every request reads it.
const DefaultProject = "default"

// Project is a tenant: its telemetry, keys and members are its own.
type Project struct {
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
	// Capture is privacy.Full, privacy.Metadata or privacy.Redacted (""
	// means full).
	Capture        string   `json:"capture,omitempty"`
	RedactPatterns []string `json:"redact_patterns,omitempty"`
	// SpanRetention and ContentRetention keep spans, and their message
	// content, this long; 0 keeps them forever. Content retention is
	// never longer than span retention.
	SpanRetention    timeutil.Duration `json:"span_retention,omitempty"`
	ContentRetention timeutil.Duration `json:"content_retention,omitempty"`
	// Config marks projects from the config file: not editable through
	// the API.
	Config bool `json:"config,omitempty"`
}

// ContentPolicy is the project's capture policy, as privacy applies it.
func (p Project) ContentPolicy() privacy.Policy {
	return privacy.Policy{Capture: p.Capture, RedactPatterns: p.RedactPatterns}
}

var projectName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// ValidName reports whether name can name a project: 1 to 63 lowercase
// letters, digits, - and _, starting with a letter or digit.
func ValidName(name string) bool { return projectName.MatchString(name) }

// ValidCapture reports whether c names a capture policy ("" is full).
func ValidCapture(c string) bool {
	switch c {
	case "", privacy.Full, privacy.Metadata, privacy.Redacted:
		return true
	}
	return false
}

// Validate checks a project's fields, returning problems as "field: why".
func Validate(p Project) []error {
	var errs []error
	if !ValidName(p.Name) {
		errs = append(errs, fmt.Errorf("name: %q must be 1-63 of a-z, 0-9, - and _", p.Name))
	}
	if !ValidCapture(p.Capture) {
		errs = append(errs, fmt.Errorf("capture: %q is not full, metadata or redacted", p.Capture))
	}
	for i, pat := range p.RedactPatterns {
		if _, err := regexp.Compile(pat); err != nil {
			errs = append(errs, fmt.Errorf("redact_patterns[%d]: %v", i, err))
		}
	}
	if p.SpanRetention < 0 || p.ContentRetention < 0 {
		errs = append(errs, errors.New("retention: must not be negative"))
	}
	if p.SpanRetention > 0 && p.ContentRetention > p.SpanRetention {
		errs = append(errs, errors.New("retention.content: must not be longer than retention.spans"))
	}
	return errs
}
