// Package store defines the contract between genscope and its storage
// backends (DuckDB embedded, ClickHouse): durable batched writes of
// canonical spans and message records, and the queries the API, UI and
// alert evaluator run. Package storetest is the conformance suite every
// backend must pass.
package store
