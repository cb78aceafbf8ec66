// Package otlp receives OpenTelemetry traces and logs over OTLP/HTTP
// (POST /v1/traces and /v1/logs, binary protobuf or JSON, optionally
// gzip-compressed) and OTLP/gRPC (TraceService and LogsService), converts
// them to canonical records with otlpconv and hands them to a Sink (the
// processing stage, then the recorder), answering each request as the OTLP specification says:
//
//   - success: 200 / OK with an empty Export*ServiceResponse;
//   - some records invalid: 200 / OK with partial_success (the client does
//     not retry);
//   - bad data: 400 (413 too large, 415 unknown encoding) with a
//     google.rpc.Status body; over gRPC, grpc-go itself refuses a message
//     it cannot decode (INTERNAL) or one over the size limit
//     (RESOURCE_EXHAUSTED without RetryInfo). The client drops the data;
//   - overload: 429 / RESOURCE_EXHAUSTED, shutting down or storage failing:
//     503 / UNAVAILABLE, both with Retry-After / google.rpc.RetryInfo (the
//     client retries later).
//
// A request is answered only after its records are durable, so a success
// means the data survives a crash.
//
// Admission (httpbody.Gate, shared with the other receivers): an HTTP body
// is admitted by its size before it is read; a gRPC call reserves
// MaxBodyBytes when its stream opens (grpcTap, an InTapHandle), before
// grpc-go reads the message, and keeps only the message's size once read.
// What does not fit, or arrives while the recorder's queue is full, is
// refused at once with 429 / RESOURCE_EXHAUSTED and a retry delay; an
// admitted request is decoded in one of the gate's work slots.
package otlp
