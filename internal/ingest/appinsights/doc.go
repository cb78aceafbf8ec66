// Package appinsights receives telemetry in the Application Insights
// ingestion format (POST /v2/track and /v2.1/track, as the Azure Monitor
// OpenTelemetry exporters send it), maps RemoteDependencyData and
// RequestData to canonical spans and GenAI MessageData to message records,
// and hands them to a Sink (the processing stage,
// then the recorder), answering each request the way
// the Breeze ingestion endpoint does: 200 when every item was accepted,
// 206 with per-item errors, 400 for a malformed body, 413 for a body too
// large and 503 with Retry-After when storage cannot take the data, so
// that exporters retry it.
package appinsights
