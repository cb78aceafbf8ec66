package api

import "github.com/genscope/genscope/internal/quota"

// LimitsUsage is the answer of GET /api/v1/limits: the project's gateway
// rate limits and budgets with what has been used of each, most used
// first. Only subjects with limits appear (the project, each end user
// and gateway key that made calls under a limit in the current windows).
type LimitsUsage struct {
	Project string        `json:"project"`
	Gateway bool          `json:"gateway"` // false: the gateway is off on this node, nothing is limited here
	Usage   []quota.Usage `json:"usage"`
}

func (a *API) limitsUsage(r request) (any, error) {
	out := LimitsUsage{Project: r.project, Usage: []quota.Usage{}}
	if a.limits != nil {
		out.Gateway, out.Usage = true, a.limits(r.project)
	}
	return out, nil
}
