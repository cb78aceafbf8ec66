// Package tokens counts text in OpenAI's o200k_base tokens (the encoding
// of gpt-4o, gpt-4.1, o1 and later), with the real tokenizer
// (github.com/tiktoken-go/tokenizer): the gateway estimates usage with it
// when an upstream reports none, and the simulated deployment
// (sim/model) counts and streams its answers with it.
//
// The codec is loaded once, on first use, and is safe for concurrent use.
package tokens
