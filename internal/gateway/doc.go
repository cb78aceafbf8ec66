// Package gateway is genscope's OpenAI- and Azure-OpenAI-compatible model
// gateway: an application changes only its base URL, the gateway forwards
// each call to the deployment's upstream (OpenAI, Azure OpenAI, any
// OpenAI-compatible server, or the simulated deployment) and records the
// call — tokens, latency, time to first token, status, content — as a
// canonical span, after the response is written and without ever waiting
// on storage.
//
// Requests and responses pass through byte for byte, except for the few
// edits the gateway needs: the model name a deployment maps to, and
// stream_options.include_usage on streamed calls (the extra usage chunk,
// and the "usage":null members it adds, are removed again when the client
// did not ask for them) — and the masking of upstream keys: the key a call
// carried upstream (the deployment's, or the client's passed through) is
// replaced by a same-length marker wherever the upstream echoes it, in the
// headers and body relayed (across network reads, and across the events
// of a stream when the deltas spell it out), error answers, the record and
// the logs (mask.go).
//
// The gateway owns its configuration (config.go: Config, Deployment,
// their defaults and validation, and UpstreamPolicy, where a deployment
// may send its key); package config assembles it under gateway:.
package gateway
