// Package queryparam reads URL query strings strictly, for every HTTP API
// that takes parameters (the read API, alerts, notifications): pairs are
// separated by "&" only, a pair that does not unescape is an error, a
// parameter meant to be given once is an error when given twice, and
// every error names the parameter, for a 400 that says what to fix.
package queryparam
