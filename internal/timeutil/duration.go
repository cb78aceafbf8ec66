package timeutil

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.yaml.in/yaml/v3"
)

// Duration is a time.Duration written as a string: "5s", "1m30s", "720h"
// or a number of days ("30d"). It reads from YAML, JSON (where a number
// is seconds too) and text, and writes time.Duration's String form.
type Duration time.Duration

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String writes the duration like "5m0s".
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText writes the duration like "5m0s" (JSON and YAML use it).
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads a duration as Parse does.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := Parse(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// UnmarshalJSON reads a string as Parse does, or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n float64
		if err := json.Unmarshal(b, &n); err != nil {
			return errors.New("a duration is a string like 5m, 720h or 30d")
		}
		*d = Duration(time.Duration(n * float64(time.Second)))
		return nil
	}
	return d.UnmarshalText([]byte(s))
}

// UnmarshalYAML reads a scalar as Parse does, naming its line when it
// is not a duration.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if err := d.UnmarshalText([]byte(n.Value)); err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	return nil
}

// Parse reads a Go duration ("90s", "1h30m") or a whole number of days
// up to 100 years ("30d"). The empty string is zero. A negative Go
// duration is read as one: where a duration must not be negative, the
// validation that knows the field says so.
func Parse(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	if n := len(s); n > 1 && s[n-1] == 'd' {
		var days int
		if _, err := fmt.Sscanf(s[:n-1], "%d", &days); err == nil && days >= 0 && days <= 36500 && fmt.Sprint(days) == s[:n-1] {
			return time.Duration(days) * 24 * time.Hour, nil
		}
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration like 30s, 5m, 720h or 30d", s)
	}
	return v, nil
}
