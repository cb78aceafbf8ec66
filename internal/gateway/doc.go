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
// did not ask for them).
package gateway
