// Package labelcap bounds the cardinality of Prometheus labels whose
// values come from ingested data (models, providers, operations, error
// types): each label keeps at most N distinct values of its own, and
// every further value is reported as "other" and counted in
// genscope_metrics_label_values_folded_total.
package labelcap
