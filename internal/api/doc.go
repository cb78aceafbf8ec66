// Package api serves genscope's JSON query API under /api/v1/: totals,
// time series, breakdowns, the spans table, traces, sessions and the price
// table. Handlers parse and validate parameters (a bad one is a 400 that
// names it), call the store and encode the answer.
package api
