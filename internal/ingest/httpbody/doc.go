// Package httpbody reads ingestion request bodies: gzip, deflate (zlib or
// raw) or plain, within a limit that applies after decompression, so a
// small body that inflates without end costs the limit and no more.
// Every receiver (OTLP, Application Insights) reads through it.
//
// A Gate, shared by every receiver, is the admission in front of the
// decoders: it bounds the bytes of requests in flight (a body is admitted
// before it is read, a gRPC message before grpc-go reads it), refuses new
// requests unread while the queue behind it is full (NewGateBefore), and
// lets only as many admitted requests decode at once as there are CPUs
// (Work), so that under a flood each is decoded and queued in turn
// rather than all at once, and memory is bounded by the limits rather
// than by the number of clients.
package httpbody
