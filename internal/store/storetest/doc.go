// Package storetest is the conformance suite of the store contract: Run
// writes realistic spans and message records through store.Store and
// checks every query's answers against a reference model of the contract
// computed in Go, so every backend (DuckDB, ClickHouse) gives the same
// answers. It tests observable behaviour through the interface only.
package storetest
