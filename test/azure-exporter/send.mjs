// Sends one lab-shaped GenAI call (a generate_completion parent with a
// chat child) through the real Azure Monitor exporter to the endpoint in
// APPLICATIONINSIGHTS_CONNECTION_STRING, then exits 0 when the export
// succeeded. Run by genscope's Go test with a fresh server.
import { AzureMonitorTraceExporter } from "@azure/monitor-opentelemetry-exporter";
import { BasicTracerProvider, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { context, trace, SpanKind } from "@opentelemetry/api";

const exporter = new AzureMonitorTraceExporter({
  connectionString: process.env.APPLICATIONINSIGHTS_CONNECTION_STRING,
});
const provider = new BasicTracerProvider({
  resource: resourceFromAttributes({ "service.name": "azure-exporter-test" }),
  spanProcessors: [new SimpleSpanProcessor(exporter)],
});
const tracer = provider.getTracer("genscope-test");

const parent = tracer.startSpan("generate_completion", { attributes: { "session.id": "s-azure-1" } });
const ctx = trace.setSpan(context.active(), parent);
const chat = tracer.startSpan("chat gpt-4o", {
  kind: SpanKind.CLIENT,
  attributes: {
    "gen_ai.operation.name": "chat",
    "gen_ai.system": "openai",
    "gen_ai.request.model": "gpt-4o",
    "gen_ai.response.model": "gpt-4o-2024-08-06",
    "gen_ai.response.finish_reasons": ["stop"],
    "gen_ai.usage.input_tokens": 46,
    "gen_ai.usage.output_tokens": 92,
  },
}, ctx);
chat.end();
parent.end();
await provider.forceFlush();
await provider.shutdown();
console.log(JSON.stringify({ trace_id: parent.spanContext().traceId }));
