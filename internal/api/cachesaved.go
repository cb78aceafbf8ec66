package api

import (
	"time"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/pricing"
	"github.com/genscope/genscope/internal/store"
)

// CacheSavings is what the gateway's response cache saved over a range:
// the calls it answered (which cost nothing upstream) and what they
// would have cost, priced per model at the newest list price (the cached
// share of a prompt priced as uncached input: an upper estimate); hits of
// models without a price are counted apart.
type CacheSavings struct {
	Hits            int64   `json:"hits"`
	SavedUSD        float64 `json:"saved_usd"`
	UnpricedHits    int64   `json:"unpriced_hits"`
	SavedIsEstimate bool    `json:"saved_is_estimate"`
}

// cacheSavings sums the cache hits in f by model and prices them: only
// the gateway's calls (its service) are looked at, none when no gateway
// is configured.
func (a *API) cacheSavings(r request, f store.Filter) (CacheSavings, error) {
	if a.cacheService == "" || (f.Service != "" && f.Service != a.cacheService) {
		return CacheSavings{SavedIsEstimate: true}, nil
	}
	f.Service = a.cacheService
	f.Attrs = append(append([]store.AttrFilter(nil), f.Attrs...), store.AttrFilter{Key: pricing.CacheHitAttribute, Op: store.AttrEquals, Value: "hit"})
	rows, err := a.st.Breakdown(r.ctx, store.BreakdownQuery{Filter: f, By: store.DimModel, Limit: 1000})
	if err != nil {
		return CacheSavings{}, err
	}
	out := CacheSavings{SavedIsEstimate: true}
	for _, row := range rows {
		out.Hits += row.Calls
		usd, ok := a.prices.Cost("", row.Key, time.Time{}, genai.Usage{InputTokens: row.InputTokens, OutputTokens: row.OutputTokens})
		if !ok {
			out.UnpricedHits += row.Calls
			continue
		}
		out.SavedUSD += usd
	}
	return out, nil
}
