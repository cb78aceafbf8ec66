// Calls genscope's gateway with the official OpenAI Node.js SDK, as an
// application would, and prints what it saw as JSON for the Go test.
import OpenAI, { AzureOpenAI } from "openai";

const base = process.env.GENSCOPE_URL;
const apiKey = process.env.CLIENT_KEY || "sk-client";
const out = {};
const openai = new OpenAI({ baseURL: base + "/v1", apiKey, maxRetries: 0, timeout: 30000 });
const messages = [
  { role: "system", content: "You are an AI assistant that acts as a travel guide." },
  { role: "user", content: "What are some recommended supplies for a camping trip in the mountains?" },
];

const r = await openai.chat.completions.create({ model: "gpt-4o", messages }, { headers: { "x-session-id": "sdk-session" } });
out.chat = { content: r.choices[0].message.content, finish: r.choices[0].finish_reason, usage: r.usage, model: r.model };

// A stream without include_usage: no chunk may carry usage.
let text = "", chunks = 0, usageChunks = 0, emptyChoices = 0;
for await (const c of await openai.chat.completions.create({ model: "gpt-4o", messages, stream: true })) {
  chunks++;
  if ("usage" in c) usageChunks++;
  if (c.choices.length === 0) emptyChoices++;
  text += c.choices[0]?.delta?.content ?? "";
}
out.stream = { text, chunks, usageChunks, emptyChoices };

// A stream with include_usage: the last chunk has it.
let last;
for await (const c of await openai.chat.completions.create({ model: "gpt-4o", messages, stream: true, stream_options: { include_usage: true } })) last = c;
out.streamUsage = last.usage;

const e = await openai.embeddings.create({ model: "text-embedding-3-small", input: ["camping", "mountains"] });
out.embeddings = { n: e.data.length, dims: e.data[0].embedding.length, usage: e.usage };

try {
  await openai.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "word ".repeat(140000) }] });
  out.tooLarge = { status: 200 };
} catch (err) {
  out.tooLarge = { status: err.status, code: err.code, type: err.constructor.name };
}

const models = await openai.models.list();
out.models = models.data.map((m) => m.id);

const azure = new AzureOpenAI({ endpoint: base, apiKey, apiVersion: "2024-10-21", deployment: "gpt-4o", maxRetries: 0 });
const a = await azure.chat.completions.create({ model: "gpt-4o", messages });
out.azure = { content: a.choices[0].message.content, usage: a.usage };

console.log(JSON.stringify(out));
