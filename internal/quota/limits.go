package quota

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// Limits are the ceilings of one subject (a key, a project or an end
// user); zero means no limit.
type Limits struct {
	RequestsPerMinute int64   `yaml:"requests_per_minute" json:"requests_per_minute,omitempty"`
	TokensPerMinute   int64   `yaml:"tokens_per_minute" json:"tokens_per_minute,omitempty"`
	USDPerDay         float64 `yaml:"usd_per_day" json:"usd_per_day,omitempty"`
	USDPerMonth       float64 `yaml:"usd_per_month" json:"usd_per_month,omitempty"`
}

// IsZero reports whether no limit is set.
func (l Limits) IsZero() bool { return l == Limits{} }

// Validate reports every negative or non-finite limit, under path.
func (l Limits) Validate(path string) error {
	var errs []error
	if l.RequestsPerMinute < 0 {
		errs = append(errs, fmt.Errorf("%srequests_per_minute: must not be negative", path))
	}
	if l.TokensPerMinute < 0 {
		errs = append(errs, fmt.Errorf("%stokens_per_minute: must not be negative", path))
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"usd_per_day", l.USDPerDay}, {"usd_per_month", l.USDPerMonth}} {
		if f.v < 0 || math.IsNaN(f.v) || math.IsInf(f.v, 0) {
			errs = append(errs, fmt.Errorf("%s%s: must be a finite number, not negative", path, f.name))
		}
	}
	return errors.Join(errs...)
}

// Rule sets limits for a project, an end user, or both: Project alone
// limits the project's calls together; User limits an end user's calls
// (within Project when it is set, in every project otherwise). "*" means
// each one: {project: "*"} limits every project on its own, {user: "*"}
// every end user on their own.
type Rule struct {
	Project string `yaml:"project" json:"project,omitempty"`
	User    string `yaml:"user" json:"user,omitempty"`
	Limits  `yaml:",inline"`
}

// ValidateRules reports every problem of rules, with its field path
// (path is like "gateway.limits").
func ValidateRules(path string, rules []Rule) error {
	var errs []error
	for i, r := range rules {
		p := fmt.Sprintf("%s[%d].", path, i)
		if r.Project == "" && r.User == "" {
			errs = append(errs, fmt.Errorf("%sproject or user: required (\"*\" for each)", p))
		}
		if strings.ContainsRune(r.Project, 0) || strings.ContainsRune(r.User, 0) {
			errs = append(errs, fmt.Errorf("%sproject, user: must not contain NUL", p))
		}
		if r.IsZero() {
			errs = append(errs, fmt.Errorf("%s: no limit set (requests_per_minute, tokens_per_minute, usd_per_day or usd_per_month)", strings.TrimSuffix(p, ".")))
		}
		if err := r.Limits.Validate(p); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
