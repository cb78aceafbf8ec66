// Package storecopy copies everything one store holds into another (the
// embedded DuckDB into ClickHouse, or back), in time-ordered chunks, with a
// progress bar, resumable from a checkpoint file, verifying counts at the
// end.
package storecopy
