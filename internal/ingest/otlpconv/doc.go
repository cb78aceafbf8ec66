// Package otlpconv turns decoded OTLP trace and log payloads (pdata) into
// genscope's canonical records: spans through genai.Normalize, GenAI
// content log records through genai.NormalizeLog.
package otlpconv
