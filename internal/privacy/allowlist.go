package privacy

import (
	"net/url"
	"strings"

	"github.com/genscope/genscope/internal/genai"
)

// Metadata is an allowlist: under capture "metadata", and for readers
// without the content permission, a span keeps only the attributes known
// to describe a call rather than carry what was said — ids, model,
// provider, operation, token counts, timings, finish reasons, error type
// and code, request parameters, and the identity of the resource, host,
// process and HTTP route. Every other value (a prompt under a name no
// convention here knows — Vercel's ai.prompt, Langfuse's
// langfuse.observation.input, OpenInference's input.value,
// http.request.body, an app's own attribute — the status message,
// exception messages and stack traces) is dropped: a denylist of content
// names could never be complete.

// metadataKeys are attribute names kept as they are.
var metadataKeys = set(
	// OpenTelemetry GenAI.
	"gen_ai.operation.name", "gen_ai.system", "gen_ai.provider.name", "gen_ai.request.model", "gen_ai.response.model",
	"gen_ai.response.id", "gen_ai.response.finish_reasons", "gen_ai.request.temperature", "gen_ai.request.top_p",
	"gen_ai.request.top_k", "gen_ai.request.max_tokens", "gen_ai.request.frequency_penalty",
	"gen_ai.request.presence_penalty", "gen_ai.request.seed", "gen_ai.request.choice.count", "gen_ai.request.stream",
	"gen_ai.request.encoding_formats", "gen_ai.output.type", "gen_ai.conversation.id", "gen_ai.agent.id",
	"gen_ai.agent.name", "gen_ai.tool.name", "gen_ai.tool.call.id", "gen_ai.tool.type", "gen_ai.data_source.id",
	"gen_ai.token.type", "gen_ai.embeddings.dimension.count", "gen_ai.openai.request.service_tier",
	"gen_ai.openai.response.service_tier", "gen_ai.openai.response.system_fingerprint",
	// OpenInference and OpenLLMetry / Traceloop.
	"llm.model_name", "llm.provider", "llm.system", "llm.request.type", "llm.is_streaming", "llm.finish_reason",
	"openinference.span.kind", "input.mime_type", "output.mime_type",
	"traceloop.span.kind", "traceloop.workflow.name", "traceloop.entity.name", "traceloop.entity.path",
	// Vercel AI SDK.
	"ai.model.id", "ai.model.provider", "ai.operationId", "ai.telemetry.functionId", "ai.response.finishReason",
	"ai.response.id", "ai.response.model", "ai.response.timestamp", "ai.response.msToFirstChunk",
	"ai.response.msToFinish", "ai.response.avgCompletionTokensPerSecond", "ai.response.avgOutputTokensPerSecond",
	"ai.finishReason", "operation.name", "resource.name",
	// Langfuse.
	"langfuse.observation.type", "langfuse.observation.model.name", "langfuse.observation.level",
	"langfuse.trace.id", "langfuse.session.id", "langfuse.user.id", "langfuse.release", "langfuse.version",
	"langfuse.environment",
	// Sessions and users.
	"session.id", "user.id", "enduser.id",
	// Errors: the type and code, never the message.
	"error.type", "error.code", "exception.type", "exception.escaped", "otel.status_code",
	// HTTP and RPC, without bodies, headers or queries.
	"http.request.method", "http.method", "http.response.status_code", "http.status_code", "http.route",
	"http.scheme", "http.flavor", "network.protocol.name", "network.protocol.version", "network.transport",
	"network.peer.address", "network.peer.port", "server.address", "server.port", "client.address", "client.port",
	"net.peer.name", "net.peer.port", "net.host.name", "net.host.port", "url.scheme", "url.path",
	"user_agent.original", "http.request.body.size", "http.response.body.size", "http.request.resend_count",
	"rpc.system", "rpc.service", "rpc.method", "rpc.grpc.status_code", "peer.service",
	"db.system", "db.system.name", "db.operation", "db.operation.name", "db.collection.name", "db.namespace",
	"messaging.system", "messaging.operation", "messaging.operation.name", "messaging.destination.name",
	// Code location.
	"code.function", "code.function.name", "code.namespace", "code.filepath", "code.file.path", "code.lineno",
	"code.line.number", "thread.id", "thread.name",
	// Resource identity.
	"host.name", "host.id", "host.type", "host.arch", "process.pid", "process.parent_pid", "process.executable.name",
	"process.executable.path", "process.owner", "deployment.environment", "deployment.environment.name",
	"event.name",
)

// metadataPrefixes are name prefixes kept: token counts, settings and
// resource identity.
var metadataPrefixes = []string{
	"gen_ai.usage.", "llm.token_count.", "llm.usage.", "ai.usage.", "ai.settings.", "genscope.",
	"service.", "telemetry.sdk.", "telemetry.distro.", "os.", "process.runtime.", "host.image.", "host.cpu.",
	"cloud.", "k8s.", "container.", "faas.", "azure.resource_provider.", "otel.scope.", "otel.library.",
}

// metadataURLKeys are kept without their query and fragment (where
// tokens and user text travel).
var metadataURLKeys = set("url.full", "http.url", "http.target")

func set(ks ...string) map[string]bool {
	m := make(map[string]bool, len(ks))
	for _, k := range ks {
		m[k] = true
	}
	return m
}

// MetadataKey reports whether an attribute is known to be metadata (kept
// when content is not): the one allowlist of the ingest side (capture
// metadata) and the read side (no content permission).
func MetadataKey(k string) bool {
	if metadataKeys[k] || metadataURLKeys[k] {
		return true
	}
	for _, p := range metadataPrefixes {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
}

// FilterKey reports whether readers who may see metadata only may filter
// on attribute k: a metadata key, but not a URL (MetadataOnly keeps URLs
// without their query, which a filter would search).
func FilterKey(k string) bool { return MetadataKey(k) && !metadataURLKeys[k] }

// MetadataOnly returns attrs without the attributes that are not
// metadata (nil when none is left), URLs without their query and
// fragment, and only scalar values or lists of scalars: a structure
// under a metadata name is not metadata.
func MetadataOnly(attrs map[string]any) map[string]any {
	for k, v := range attrs {
		if !MetadataKey(k) || !scalar(v) {
			delete(attrs, k)
			continue
		}
		if s, ok := v.(string); ok && metadataURLKeys[k] {
			attrs[k] = withoutQuery(s)
		}
	}
	if len(attrs) == 0 {
		return nil
	}
	return attrs
}

func scalar(v any) bool {
	switch x := v.(type) {
	case string, bool, float64, float32, int, int64, int32, uint64, uint32, nil:
		return true
	case []string, []bool, []float64, []int64:
		return true
	case []any:
		for _, e := range x {
			switch e.(type) {
			case string, bool, float64, int64, int, nil:
			default:
				return false
			}
		}
		return true
	}
	return false
}

// withoutQuery drops a URL's query, fragment and credentials.
func withoutQuery(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		if i := strings.IndexAny(s, "?#"); i >= 0 {
			return s[:i]
		}
		return s
	}
	u.RawQuery, u.Fragment, u.RawFragment, u.User, u.ForceQuery = "", "", "", nil, false
	return u.String()
}

// StripSpan keeps only a span's metadata: no system instructions, input
// or output messages, status message, or attribute (of the span, its
// resource or its events) outside the allowlist; content events are
// dropped whole, other events keep their name, time and metadata.
func StripSpan(sp *genai.Span) {
	sp.SystemInstructions, sp.InputMessages, sp.OutputMessages = nil, nil, nil
	sp.StatusMessage = ""
	sp.Attributes = MetadataOnly(sp.Attributes)
	sp.ResourceAttributes = MetadataOnly(sp.ResourceAttributes)
	if len(sp.Events) > 0 {
		evs := sp.Events[:0]
		for _, e := range sp.Events {
			if ContentKey(e.Name) || genai.IsContentEvent(e.Name) {
				continue
			}
			e.Attributes = MetadataOnly(e.Attributes)
			evs = append(evs, e)
		}
		sp.Events = evs
	}
}
