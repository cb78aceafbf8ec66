// Package alert evaluates alert rules on GenAI metrics and keeps their
// state: OK -> Fired -> Resolved per rule (or per value of its split
// dimension), with the value and the query behind each change, and the
// history of changes.
//
// A rule aggregates one signal (duration_ms, calls, error_rate, ...) over
// a window [now-window, now) with store.Aggregator, compares it with a
// threshold, and fires when Violations of the last Evaluations
// evaluations were violated. A window without data is no data: the rule's
// no-data policy keeps the state, counts it as not violated, or as
// violated (calls, errors, totals and counts are 0 over no calls, which
// is data). A fired alert with auto-resolve resolves at the first
// evaluation that is not violated and leaves fewer than Violations
// violations among the last Evaluations.
//
// The Engine schedules each enabled rule at its frequency, starting at a
// random offset within the first period; at most MaxConcurrent
// evaluations run at once and each query is bounded by EvalTimeout, so a
// slow rule holds one slot for a bounded time and never blocks the
// others' schedules. Notification is not this package's business: state
// changes go to a NotifyFunc (internal/notify's Notifier.Notify, wired in
// internal/app), which queues durably and returns.
//
// Access: the HTTP handlers (Register, one route table) check each request
// against the rule they touch, through Options.AccessFor (an Access the
// app builds from the request's principal): a rule belongs to the
// project its filters name; reading it, its previews, alerts and history
// needs read access there, changing or evaluating it the editor role; the
// lists are filtered per project. The package knows nothing of keys or
// users.
//
// Consistency model (one evaluator node; the state lives in the store's
// file through store.StateStore):
//   - A state change is written (alert state, then a history event)
//     before it is handed to the notify function; the alert records which
//     change it last handed over (NotifiedChange) after the hand-over.
//   - A change not handed over (the notifier failed, or the process died
//     in between) is handed over at the rule's next evaluation and at
//     Start. Each change has a stable notification id (alert id + "#" +
//     change id), and the notifier ignores an id it has logged, so a
//     change is notified once even when handed over twice.
//   - Running two genscope processes on the same rules is not supported:
//     each would evaluate and notify.
//   - The recent-evaluation window of a rule that needs more than one
//     evaluation (M of N) is saved at every evaluation; otherwise only
//     state changes are written, and a restart forgets the last value.
package alert
