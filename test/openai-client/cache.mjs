// Calls genscope's gateway twice with the same request through the
// official OpenAI Node.js SDK, the cache turned on by its request header,
// and prints what the SDK saw of the miss and of the hit, plain and
// streamed, as JSON for the Go test.
import OpenAI from "openai";

const openai = new OpenAI({ baseURL: process.env.GENSCOPE_URL + "/v1", apiKey: "sk-client", maxRetries: 0, timeout: 30000 });
const messages = [{ role: "user", content: "What is OpenTelemetry? Answer in one sentence." }];
const headers = { "x-genscope-cache": "true" };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The answer is kept once it is recorded: ask again until it is served.
async function twice(call) {
  const first = await call();
  for (let i = 0; i < 50; i++) {
    const again = await call();
    if (again.cache === "hit") return { first, hit: again };
    await sleep(100);
  }
  return { first, hit: null };
}

const plain = await twice(async () => {
  const { data, response } = await openai.chat.completions.create({ model: "gpt-4o", messages }, { headers }).withResponse();
  return { cache: response.headers.get("x-genscope-cache"), id: data.id, content: data.choices[0].message.content, finish: data.choices[0].finish_reason, usage: data.usage };
});

const streamed = await twice(async () => {
  const { data: stream, response } = await openai.chat.completions
    .create({ model: "gpt-4o", messages: [...messages, { role: "user", content: "Streamed." }], stream: true, stream_options: { include_usage: true } }, { headers })
    .withResponse();
  let text = "", chunks = 0, usage = null, id = "";
  for await (const c of stream) {
    chunks++;
    id = c.id;
    text += c.choices[0]?.delta?.content ?? "";
    if (c.usage) usage = c.usage;
  }
  return { cache: response.headers.get("x-genscope-cache"), id, text, chunks, usage };
});

console.log(JSON.stringify({ plain, streamed }));
