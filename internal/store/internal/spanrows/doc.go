// Package spanrows is the backend-independent half of the store's
// queries over spans. A backend's SQL reads span rows, inherited
// contexts, message records and aggregate rows; this package turns them
// into the store's answers: span summaries with their content previews,
// pages of spans and sessions with their cursors (package keyset), a
// session's detail, a trace's tree, breakdown and aggregate rows. It also
// holds what both write paths use to recognise a retried span (FullKey,
// StoredWhere, ScanStored). Queries reach it already checked (the
// Normalize methods of package store).
//
// It lives under internal/store/internal, so only the store backends may
// import it; each backend keeps only its SQL.
package spanrows
