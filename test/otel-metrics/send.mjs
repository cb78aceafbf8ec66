// Sends GenAI metrics the way an instrumented Node.js application does:
// the OpenTelemetry JS metrics SDK with its OTLP/HTTP (JSON) exporter,
// histograms with the bucket boundaries the GenAI conventions advise,
// cumulative temporality (the SDK's default), exported twice. Also a
// counter genscope does not keep, whose partial-success answer the
// exporter logs. Prints what it did as JSON for the Go test.
import { diag, DiagLogLevel } from "@opentelemetry/api";
import { MeterProvider, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics";
import { OTLPMetricExporter } from "@opentelemetry/exporter-metrics-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";

const warnings = [];
diag.setLogger({
  error: (...a) => warnings.push(a.join(" ")),
  warn: (...a) => warnings.push(a.join(" ")),
  info: () => {}, debug: () => {}, verbose: () => {},
}, DiagLogLevel.WARN);

const exporter = new OTLPMetricExporter({ url: process.env.GENSCOPE_URL + "/v1/metrics", timeoutMillis: 10000 });
const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3600000 });
const provider = new MeterProvider({
  resource: resourceFromAttributes({ "service.name": "node-metrics-app" }),
  readers: [reader],
});
const meter = provider.getMeter("genai-test");
const duration = meter.createHistogram("gen_ai.client.operation.duration", {
  unit: "s",
  advice: { explicitBucketBoundaries: [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92] },
});
const tokens = meter.createHistogram("gen_ai.client.token.usage", {
  unit: "{token}",
  advice: { explicitBucketBoundaries: [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864] },
});
const requests = meter.createCounter("http.client.request.count");
const attrs = { "gen_ai.operation.name": "chat", "gen_ai.system": "openai", "gen_ai.request.model": "gpt-4o-mini", "gen_ai.response.model": "gpt-4o-mini-2024-07-18" };

const call = (seconds, input, output) => {
  duration.record(seconds, attrs);
  tokens.record(input, { ...attrs, "gen_ai.token.type": "input" });
  tokens.record(output, { ...attrs, "gen_ai.token.type": "output" });
  requests.add(1);
};
call(0.2, 100, 20);
call(0.4, 100, 20);
await reader.forceFlush();
call(1.5, 100, 20);
duration.record(0.05, { ...attrs, "error.type": "RateLimitError" });
requests.add(1);
await reader.forceFlush();
await provider.shutdown();
console.log(JSON.stringify({ calls: 4, errors: 1, input_tokens: 300, output_tokens: 60, warnings }));
