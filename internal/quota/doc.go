// Package quota enforces the gateway's rate limits and spend budgets —
// requests and tokens per minute, USD per day and per month — per gateway
// key, per project and per end user, and keeps their usage across
// restarts in a file.
//
// Windows are fixed and aligned: the minute, the UTC day and the UTC
// month; a limit resets when its window ends. A call is admitted (Admit)
// before it goes upstream when every counter that applies to it is below
// its limit; admission counts the request at once, under one lock, so
// requests per minute never overshoot however many calls arrive together.
// Tokens and spend are known only when a call has finished (Record), so
// the calls already in flight when a token or USD limit is reached still
// finish and count: those limits can overshoot by what the calls in
// flight use, never more.
package quota
