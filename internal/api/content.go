package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/genscope/genscope/internal/privacy"
	"github.com/genscope/genscope/internal/store"
)

// ErrForbidden, returned (wrapped) by Options.ProjectFor, refuses a
// request with 403: the caller is known but may not read the project.
var ErrForbidden = errors.New("forbidden")

// contentParam is the filter that searches message text: readers without
// the content permission may not use it (it would reveal content one
// yes/no answer at a time).
const contentParam = "q"

// withoutContent removes message content from a handler's result: the
// previews of spans and session calls, and the messages, content
// attributes and content events of trace spans. Every endpoint's result
// passes through it when the caller lacks the content permission; a
// result type it does not know carries no content (overview, series,
// breakdowns, pricing, status).
func withoutContent(out any) any {
	switch v := out.(type) {
	case store.SpansPage:
		for i := range v.Spans {
			privacy.StripSummary(&v.Spans[i])
		}
		return v
	case store.Trace:
		privacy.StripTrace(&v)
		return v
	case store.Score:
		v.Comment = ""
		return v
	case scoreList:
		for i := range v.Scores {
			v.Scores[i].Comment = ""
		}
		return v
	case store.SessionDetail:
		for i := range v.Calls {
			privacy.StripSummary(&v.Calls[i])
		}
		return v
	}
	return out
}

// contentAllowed reports whether the request may see the project's
// message content.
func (a *API) contentAllowed(r *http.Request, project string) bool {
	return a.content == nil || a.content(r, project)
}

// forbiddenParam is a parameter the caller may not use: 403 naming it.
type forbiddenParam struct{ name, msg string }

func (e *forbiddenParam) Error() string { return e.name + ": " + e.msg }

// metadataAttrs refuses attribute filters on keys outside the metadata
// allowlist: without the content permission (or in a project keeping
// metadata only) a filter on any attribute would reveal content one
// yes/no answer at a time.
func metadataAttrs(f store.Filter) error {
	for _, a := range f.Attrs {
		if !privacy.FilterKey(a.Key) {
			return &forbiddenParam{"attr", fmt.Sprintf("%q is not a metadata attribute; filtering on it needs the content permission (and a project that keeps content)", a.Key)}
		}
	}
	return nil
}
