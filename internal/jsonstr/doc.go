// Package jsonstr writes JSON strings into byte slices, for the encoders
// that build JSON by hand on hot paths (the simulated model's stream
// chunks, the stores' attribute encoding).
package jsonstr
