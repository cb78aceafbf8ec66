// Package httpbody reads ingestion request bodies: gzip, deflate (zlib or
// raw) or plain, within a limit that applies after decompression, so a
// small body that inflates without end costs the limit and no more.
// Every receiver (OTLP, Application Insights) reads through it.
package httpbody
