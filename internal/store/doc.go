// Package store defines the contract between genscope and its storage
// backends (DuckDB embedded, ClickHouse): durable batched writes of
// canonical spans and message records, and the queries the API, UI and
// alert evaluator run (Store, store.go).
//
// What a backend may do beyond the contract (aggregates, export,
// documents and events, retention, disk use, write preparation and batch
// hints) is declared in one place, capabilities.go; callers assert those
// interfaces on the Store they hold. What a valid query is, and its
// defaults, is decided once, by the Normalize and Validate methods of the
// query types (validate.go), which every backend calls before any SQL.
//
// Below it: storetest is the conformance suite every backend must pass;
// internal/spanrows and internal/keyset are what the backends share
// (turning rows into answers, cursors), importable by them only.
package store
