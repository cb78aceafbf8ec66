// Package model is a simulated model deployment: an http.Handler that
// answers OpenAI- and Azure-OpenAI-format requests (chat completions,
// embeddings, model list) the way a real gpt-4o or text-embedding-3
// deployment on Azure OpenAI does, with no network and no API key.
//
// What is simulated:
//
//   - Tokens are counted with the real o200k_base tokenizer
//     (github.com/tiktoken-go/tokenizer), using OpenAI's chat rule: 3 tokens
//     per message, plus the tokens of its role, content text and name (+1
//     when a name is present), plus 3 tokens priming the reply. An image
//     part costs a fixed 85 tokens (a low-detail image). Tool definitions
//     (tools, functions) and assistant tool calls are counted as the tokens
//     of their compact JSON text, an approximation of OpenAI's hidden
//     rendering.
//   - The context window: prompt tokens plus the requested max_tokens over
//     the window answer 400 context_length_exceeded in OpenAI's wording.
//   - Quotas: a sliding one-minute window of requests and of tokens (prompt
//     tokens plus max_tokens×n, or the generated completion tokens when no
//     max_tokens is given, as Azure estimates), answered with 429 and Azure's
//     message, Retry-After and retry-after-ms. Every response (errors
//     included) carries x-ratelimit-limit-requests / -tokens and
//     x-ratelimit-remaining-requests / -tokens for each configured quota. A
//     single request larger than the whole token quota is always refused
//     (Retry-After 60).
//   - Latency: time to first token, then a time per token (with relative
//     jitter, uniform within ±Jitter, drawn per request), for streamed and
//     non-streamed calls alike: a non-streamed answer arrives after time to
//     first token + completion tokens (of the longest choice) × time per
//     token; a stream sends its first chunk after the time to first token
//     and each further chunk of k tokens k × time per token later; the
//     handler returns as soon as the client goes away. Options.NoLatency
//     (or negative durations) gives an instant model for tests and
//     benchmarks.
//   - Output: deterministic text derived from a hash of the messages (the
//     same prompt gives the same answer; temperature and top_p are accepted
//     and ignored), marked "[simulated <model>] ", built from the prompt's
//     keywords and a built-in vocabulary, and shaped by instructions found in
//     the system and last user messages ("one sentence", "a list", "brief",
//     "in 50 words", "3 sentences"...). Completion tokens are the
//     tokenizer's count of the returned content. Requests with tools are
//     always answered with text: the simulation never calls tools.
//     response_format json_object / json_schema wraps the answer as
//     {"answer": "..."}.
//   - Azure's content filter annotations (prompt_filter_results,
//     content_filter_results), always "safe".
//
// The handler routes on the path suffix, so both OpenAI paths
// (/v1/chat/completions) and Azure paths
// (/openai/deployments/{deployment}/chat/completions?api-version=...) work:
// POST .../chat/completions, POST .../embeddings, GET .../models and
// GET .../models/{id}. The model named in a request body is not checked:
// whatever routed the request here chose this deployment.
//
// Request bodies are limited to 32 MiB (413 beyond). The handler never
// panics on any input: bad requests get a 400 in OpenAI's error shape.
package model
