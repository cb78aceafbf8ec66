// Package privacy applies a project's content policy to records before
// they are stored (Applier, run by the recorder on every batch from every
// source) and removes message content from query results for readers
// without the content permission (the api package calls StripSpan).
//
// A policy is full (keep content), metadata (keep no content: system
// instructions, input and output messages, content-carrying attributes
// and events are dropped) or redacted (content, attribute values and
// status messages pass through internal/redact: e-mail addresses, phone,
// card and IBAN numbers, keys and tokens, and the project's patterns).
package privacy
