// Package bytesize reads sizes in bytes from the config: a number of
// bytes (268435456) or a number with a unit ("256MB", "1GiB", "512 KiB").
package bytesize

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Size is a number of bytes.
type Size int64

// The units: decimal (kB, MB, GB, TB: powers of 1000) and binary (KiB,
// MiB, GiB, TiB: powers of 1024), as Kubernetes, Docker and DuckDB read
// them; upper or lower case alike.
var units = map[string]float64{
	"": 1, "b": 1,
	"k": 1e3, "kb": 1e3, "m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9, "t": 1e12, "tb": 1e12,
	"ki": 1 << 10, "kib": 1 << 10, "mi": 1 << 20, "mib": 1 << 20, "gi": 1 << 30, "gib": 1 << 30, "ti": 1 << 40, "tib": 1 << 40,
}

// Parse reads a size: digits (with an optional fraction) and an optional
// unit. A negative size is read as one: the validation that knows the
// field says whether it may be.
func Parse(s string) (Size, error) {
	in := strings.TrimSpace(s)
	i := 0
	if i < len(in) && (in[i] == '-' || in[i] == '+') {
		i++
	}
	for i < len(in) && (in[i] >= '0' && in[i] <= '9' || in[i] == '.') {
		i++
	}
	num, unit := in[:i], strings.ToLower(strings.TrimSpace(in[i:]))
	mult, ok := units[unit]
	v, err := strconv.ParseFloat(num, 64)
	if !ok || err != nil || num == "" {
		return 0, fmt.Errorf("%q is not a size: a number of bytes, or a number with a unit (B, kB, MB, GB, TB; KiB, MiB, GiB, TiB), like 256MB or 1GiB", s)
	}
	b := v * mult
	if math.Abs(b) >= math.MaxInt64 {
		return 0, fmt.Errorf("%q is too large", s)
	}
	if b != math.Trunc(b) {
		return 0, fmt.Errorf("%q is not a whole number of bytes", s)
	}
	return Size(b), nil
}

// UnmarshalText reads a size written as Parse reads it.
func (z *Size) UnmarshalText(b []byte) error {
	v, err := Parse(string(b))
	if err != nil {
		return err
	}
	*z = v
	return nil
}

// UnmarshalJSON reads a number of bytes or a string Parse reads.
func (z *Size) UnmarshalJSON(b []byte) error {
	var s string
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	} else {
		s = string(b)
	}
	return z.UnmarshalText([]byte(s))
}

// UnmarshalYAML reads a number of bytes or a string Parse reads; an
// error names the line.
func (z *Size) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: a size is a number of bytes or a string like 256MB", n.Line)
	}
	if err := z.UnmarshalText([]byte(n.Value)); err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	return nil
}
