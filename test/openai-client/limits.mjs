// Calls genscope's gateway through the official OpenAI Node.js SDK with a
// gateway key limited to 2 requests a minute, until it is refused, and
// prints what the SDK saw of the refusal as JSON for the Go test.
import OpenAI from "openai";

const openai = new OpenAI({ baseURL: process.env.GENSCOPE_URL + "/v1", apiKey: process.env.GENSCOPE_KEY, maxRetries: 0, timeout: 30000 });
const out = { ok: 0 };
for (let i = 0; i < 5; i++) {
  try {
    await openai.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] });
    out.ok++;
  } catch (e) {
    out.refused = {
      class: e.constructor.name,
      isRateLimit: e instanceof OpenAI.RateLimitError,
      status: e.status,
      code: e.code,
      type: e.type,
      message: e.message,
      retryAfter: e.headers?.get?.("retry-after") ?? e.headers?.["retry-after"] ?? null,
    };
    break;
  }
}
console.log(JSON.stringify(out));
