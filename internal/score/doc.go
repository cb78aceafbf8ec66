// Package score takes scores in from outside the query API: the
// gen_ai.evaluation.result events OTLP clients send (Writer, which stores
// them off the ingest path through a bounded queue), and the thumbs up or
// down an app's backend posts for a response with its ingest key
// (Feedback, POST /v1/feedback).
package score
