// Package redact masks personal data and credentials in text before it
// is stored: e-mail addresses, phone numbers, payment card numbers (Luhn
// checked), IBANs (checksum checked), API keys and tokens, and patterns a
// user adds.
package redact
