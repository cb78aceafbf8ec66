package traffic

import (
	"errors"
	"fmt"
	"time"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/tenancy"
)

// Config says what to generate. Zero fields take the defaults noted on them.
type Config struct {
	// Seed makes the output reproducible: the same Config yields the same spans.
	Seed int64
	// Spans is the number of spans to generate, parents included (default 100000).
	Spans int
	// Start and End bound the start times of the traces; spans of a trace that
	// starts just before End may end after it. Default: the 24 hours before
	// 2026-01-01T00:00:00Z (a fixed window, so that the default is
	// reproducible; demos set both to end now).
	Start, End time.Time
	// Models is how many models of the catalog (see Models) are used, in
	// catalog order (default and maximum 50).
	Models int
	// Users is the number of distinct end users (default 1000).
	Users int
	// Services is the number of distinct services (default and maximum 5).
	Services int
	// ErrorRate is the fraction of model calls (chat and embeddings) that
	// fail (default 0.05; a negative value means none).
	ErrorRate float64
	// Project is the project of every span (default tenancy.DefaultProject).
	Project string
	// OmitContent leaves out system instructions and messages, as an
	// instrumentation with content capture off does.
	OmitContent bool
	// Cost, when set, prices each model call (for example with genscope's
	// price table); it reports false for a model it does not know. Without
	// it spans carry no cost (CostKnown false), as they do before ingest.
	Cost func(*genai.Span) (usd float64, known bool)
}

// defaultEnd is the end of the default time window.
var defaultEnd = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// withDefaults returns c with its zero fields set to their defaults, or
// every problem with c.
func (c Config) withDefaults() (Config, error) {
	var errs []error
	if c.Spans < 0 {
		errs = append(errs, fmt.Errorf("spans: %d is negative", c.Spans))
	}
	if c.Spans == 0 {
		c.Spans = 100000
	}
	switch {
	case c.Start.IsZero() && c.End.IsZero():
		c.End = defaultEnd
		c.Start = c.End.Add(-24 * time.Hour)
	case c.Start.IsZero():
		c.Start = c.End.Add(-24 * time.Hour)
	case c.End.IsZero():
		c.End = c.Start.Add(24 * time.Hour)
	}
	if !c.End.After(c.Start) {
		errs = append(errs, fmt.Errorf("end: %s is not after start %s", c.End.Format(time.RFC3339Nano), c.Start.Format(time.RFC3339Nano)))
	}
	if c.Models == 0 {
		c.Models = len(catalog)
	}
	if c.Models < 0 || c.Models > len(catalog) {
		errs = append(errs, fmt.Errorf("models: %d is not between 1 and %d", c.Models, len(catalog)))
	}
	if c.Users == 0 {
		c.Users = 1000
	}
	if c.Users < 0 {
		errs = append(errs, fmt.Errorf("users: %d is negative", c.Users))
	}
	if c.Services == 0 {
		c.Services = len(services)
	}
	if c.Services < 0 || c.Services > len(services) {
		errs = append(errs, fmt.Errorf("services: %d is not between 1 and %d", c.Services, len(services)))
	}
	switch {
	case c.ErrorRate == 0:
		c.ErrorRate = 0.05
	case c.ErrorRate < 0:
		c.ErrorRate = 0
	case c.ErrorRate > 1:
		errs = append(errs, fmt.Errorf("error_rate: %g is more than 1", c.ErrorRate))
	}
	if c.Project == "" {
		c.Project = tenancy.DefaultProject
	}
	return c, errors.Join(errs...)
}
