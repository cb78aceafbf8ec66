// Package pricing turns a GenAI call's token usage into its cost in USD,
// from a versioned model price table: a built-in table (prices.json,
// embedded, with its version and sources) extended or overridden by the
// configuration file.
//
// Each model has a price history per provider (USD per million input,
// cached input and output tokens, each from an effective date), and a
// call is priced at the price in force when it started. A model the table
// does not know has an unknown cost, never a cost of 0. Model names match
// case-insensitively, without path or vendor prefixes, and dated or
// versioned variants match their base model ("gpt-4o-2024-08-06" is
// "gpt-4o"); see Table.Cost.
//
// A Table is built once, by New, and is safe for concurrent use; Cost runs
// on the ingest path of every span and does not allocate.
package pricing
