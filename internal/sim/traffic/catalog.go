package traffic

// Model is one entry of the synthetic model catalog.
type Model struct {
	Provider string // gen_ai.provider.name
	Name     string // the requested model (gen_ai.request.model)
	Response string // the model the response reports (gen_ai.response.model), often dated
	// Embedding marks an embeddings model; the others are chat models.
	Embedding bool
	// Reasoning marks a model that reports reasoning tokens and takes no temperature.
	Reasoning bool
	// Unpriced marks a model no public price list knows (fine-tuned or
	// experimental): its calls should have an unknown cost.
	Unpriced bool

	weight  float64 // relative popularity within its kind
	context int64   // context window, in tokens
	tps     float64 // median output tokens per second
}

// catalog lists the models in the order Config.Models takes them: real,
// popular names first, then plausible variants, then a few unpriced ones.
var catalog = []Model{
	{Provider: "openai", Name: "gpt-4o", Response: "gpt-4o-2024-08-06", weight: 14, context: 128000, tps: 80},
	{Provider: "openai", Name: "gpt-4o-mini", Response: "gpt-4o-mini-2024-07-18", weight: 20, context: 128000, tps: 110},
	{Provider: "anthropic", Name: "claude-3-5-sonnet-20241022", Response: "claude-3-5-sonnet-20241022", weight: 9, context: 200000, tps: 65},
	{Provider: "gcp.gemini", Name: "gemini-1.5-pro", Response: "gemini-1.5-pro-002", weight: 5, context: 2097152, tps: 60},
	{Provider: "mistral_ai", Name: "mistral-large-latest", Response: "mistral-large-2411", weight: 3, context: 128000, tps: 45},
	{Provider: "openai", Name: "text-embedding-3-small", Response: "text-embedding-3-small", Embedding: true, weight: 8, context: 8191},
	{Provider: "openai", Name: "gpt-4.1", Response: "gpt-4.1-2025-04-14", weight: 4, context: 1047576, tps: 75},
	{Provider: "openai", Name: "gpt-4.1-mini", Response: "gpt-4.1-mini-2025-04-14", weight: 5, context: 1047576, tps: 100},
	{Provider: "openai", Name: "o3-mini", Response: "o3-mini-2025-01-31", Reasoning: true, weight: 2, context: 200000, tps: 150},
	{Provider: "anthropic", Name: "claude-3-5-haiku-20241022", Response: "claude-3-5-haiku-20241022", weight: 4, context: 200000, tps: 90},
	{Provider: "gcp.gemini", Name: "gemini-1.5-flash", Response: "gemini-1.5-flash-002", weight: 5, context: 1048576, tps: 160},
	{Provider: "gcp.gemini", Name: "gemini-2.0-flash", Response: "gemini-2.0-flash-001", weight: 3, context: 1048576, tps: 180},
	{Provider: "mistral_ai", Name: "mistral-small-latest", Response: "mistral-small-2501", weight: 2, context: 32000, tps: 120},
	{Provider: "azure.ai.openai", Name: "gpt-35-turbo", Response: "gpt-35-turbo-0125", weight: 2, context: 16385, tps: 120},
	{Provider: "azure.ai.openai", Name: "text-embedding-ada-002", Response: "text-embedding-ada-002", Embedding: true, weight: 3, context: 8191},
	{Provider: "openai", Name: "text-embedding-3-large", Response: "text-embedding-3-large", Embedding: true, weight: 2, context: 8191},
	{Provider: "openai", Name: "gpt-4-turbo", Response: "gpt-4-turbo-2024-04-09", weight: 1.5, context: 128000, tps: 35},
	{Provider: "openai", Name: "gpt-3.5-turbo", Response: "gpt-3.5-turbo-0125", weight: 2, context: 16385, tps: 120},
	{Provider: "openai", Name: "o1", Response: "o1-2024-12-17", Reasoning: true, weight: 0.8, context: 200000, tps: 60},
	{Provider: "openai", Name: "o1-mini", Response: "o1-mini-2024-09-12", Reasoning: true, weight: 0.8, context: 128000, tps: 120},
	{Provider: "anthropic", Name: "claude-3-opus-20240229", Response: "claude-3-opus-20240229", weight: 0.8, context: 200000, tps: 28},
	{Provider: "anthropic", Name: "claude-3-haiku-20240307", Response: "claude-3-haiku-20240307", weight: 2, context: 200000, tps: 130},
	{Provider: "anthropic", Name: "claude-3-7-sonnet-20250219", Response: "claude-3-7-sonnet-20250219", weight: 3, context: 200000, tps: 65},
	{Provider: "anthropic", Name: "claude-sonnet-4-20250514", Response: "claude-sonnet-4-20250514", weight: 2, context: 200000, tps: 60},
	{Provider: "gcp.gemini", Name: "gemini-2.5-pro", Response: "gemini-2.5-pro", weight: 1.5, context: 1048576, tps: 90},
	{Provider: "gcp.gemini", Name: "gemini-2.5-flash", Response: "gemini-2.5-flash", weight: 2, context: 1048576, tps: 200},
	{Provider: "gcp.gemini", Name: "text-embedding-004", Response: "text-embedding-004", Embedding: true, weight: 1.5, context: 2048},
	{Provider: "mistral_ai", Name: "mistral-medium-latest", Response: "mistral-medium-2505", weight: 1, context: 128000, tps: 70},
	{Provider: "mistral_ai", Name: "open-mistral-nemo", Response: "open-mistral-nemo-2407", weight: 1, context: 128000, tps: 110},
	{Provider: "mistral_ai", Name: "codestral-latest", Response: "codestral-2501", weight: 1, context: 256000, tps: 100},
	{Provider: "mistral_ai", Name: "mistral-embed", Response: "mistral-embed", Embedding: true, weight: 1, context: 8192},
	{Provider: "azure.ai.openai", Name: "gpt-4", Response: "gpt-4-0613", weight: 1, context: 8192, tps: 25},
	{Provider: "azure.ai.openai", Name: "gpt-4o-prod", Response: "gpt-4o-2024-11-20", weight: 3, context: 128000, tps: 80},
	{Provider: "azure.ai.openai", Name: "gpt-4o-mini-eu", Response: "gpt-4o-mini-2024-07-18", weight: 2, context: 128000, tps: 100},
	{Provider: "openai", Name: "gpt-4.1-nano", Response: "gpt-4.1-nano-2025-04-14", weight: 1, context: 1047576, tps: 150},
	{Provider: "openai", Name: "gpt-4o-2024-05-13", Response: "gpt-4o-2024-05-13", weight: 0.5, context: 128000, tps: 75},
	{Provider: "openai", Name: "chatgpt-4o-latest", Response: "chatgpt-4o-latest", weight: 0.5, context: 128000, tps: 80},
	{Provider: "openai", Name: "o4-mini", Response: "o4-mini-2025-04-16", Reasoning: true, weight: 0.8, context: 200000, tps: 140},
	{Provider: "anthropic", Name: "claude-3-5-sonnet-20240620", Response: "claude-3-5-sonnet-20240620", weight: 0.7, context: 200000, tps: 65},
	{Provider: "anthropic", Name: "claude-opus-4-20250514", Response: "claude-opus-4-20250514", weight: 0.4, context: 200000, tps: 40},
	{Provider: "gcp.gemini", Name: "gemini-1.5-flash-8b", Response: "gemini-1.5-flash-8b-001", weight: 0.6, context: 1048576, tps: 220},
	{Provider: "gcp.gemini", Name: "gemini-2.0-flash-lite", Response: "gemini-2.0-flash-lite-001", weight: 0.6, context: 1048576, tps: 200},
	{Provider: "mistral_ai", Name: "pixtral-large-latest", Response: "pixtral-large-2411", weight: 0.4, context: 128000, tps: 45},
	{Provider: "mistral_ai", Name: "ministral-8b-latest", Response: "ministral-8b-2410", weight: 0.4, context: 128000, tps: 150},
	{Provider: "azure.ai.openai", Name: "gpt-41-mini-swe", Response: "gpt-4.1-mini-2025-04-14", weight: 0.5, context: 1047576, tps: 100},
	{Provider: "azure.ai.openai", Name: "embedding-large", Response: "text-embedding-3-large", Embedding: true, weight: 0.5, context: 8191},
	{Provider: "azure.ai.openai", Name: "o3-mini-eastus", Response: "o3-mini-2025-01-31", Reasoning: true, weight: 0.4, context: 200000, tps: 150},
	{Provider: "openai", Name: "ft:gpt-4o-mini-2024-07-18:acme:support:B7xQ2LkP", Response: "ft:gpt-4o-mini-2024-07-18:acme:support:B7xQ2LkP", Unpriced: true, weight: 0.5, context: 128000, tps: 100},
	{Provider: "mistral_ai", Name: "ft:open-mistral-7b:acme:9d2f51c0", Response: "ft:open-mistral-7b:acme:9d2f51c0", Unpriced: true, weight: 0.3, context: 32000, tps: 130},
	{Provider: "gcp.gemini", Name: "gemini-exp-1206", Response: "gemini-exp-1206", Unpriced: true, weight: 0.3, context: 2097152, tps: 70},
}

// Models returns the catalog the generator picks from, in the order
// Config.Models takes them. The slice is a copy.
func Models() []Model { return append([]Model(nil), catalog...) }

// endpoint is where a provider's calls go (server.address, server.port).
func endpoint(provider, service string) string {
	switch provider {
	case "openai":
		return "api.openai.com"
	case "azure.ai.openai":
		return service + "-eastus.openai.azure.com"
	case "anthropic":
		return "api.anthropic.com"
	case "gcp.gemini":
		return "generativelanguage.googleapis.com"
	default:
		return "api.mistral.ai"
	}
}

// instrumentation is the scope name of a provider's client spans.
func instrumentation(provider string) string {
	switch provider {
	case "openai", "azure.ai.openai":
		return "opentelemetry.instrumentation.openai_v2"
	case "anthropic":
		return "opentelemetry.instrumentation.anthropic"
	case "gcp.gemini":
		return "opentelemetry.instrumentation.google_genai"
	default:
		return "opentelemetry.instrumentation.mistralai"
	}
}

// service is one synthetic application.
type service struct {
	name, version, language, sdkVersion, host string
}

var services = []service{
	{"chat-api", "2.14.1", "python", "1.36.0", "chat-api-7d9f6c5b8-x2klm"},
	{"support-bot", "1.8.0", "nodejs", "2.0.1", "support-bot-5c7d8f9d4-q8wzt"},
	{"rag-search", "0.9.3", "python", "1.36.0", "rag-search-6b5f4d7c9-h4jnp"},
	{"agent-runner", "3.2.0", "python", "1.36.0", "agent-runner-8f6d9c7b5-m3vbc"},
	{"batch-summarizer", "1.1.7", "go", "1.38.0", "batch-summarizer-0"},
}

// errorKind is one way a model call fails.
type errorKind struct {
	typ    string
	http   int
	weight float64
}

var errorKinds = []errorKind{
	{"RateLimitError", 429, 45},
	{"BadRequestError", 400, 20},
	{"Timeout", 0, 15},
	{"InternalServerError", 500, 20},
}

type tool struct{ name, description, argKey string }

var tools = []tool{
	{"get_weather", "Get the current weather for a city.", "city"},
	{"search_docs", "Search the knowledge base.", "query"},
	{"lookup_order", "Look up an order by its number.", "order_id"},
	{"create_ticket", "Open a support ticket.", "summary"},
	{"get_exchange_rate", "Get the exchange rate between two currencies.", "pair"},
	{"book_table", "Book a restaurant table.", "restaurant"},
}

var agents = []string{"TravelPlanner", "SupportTriage", "OrderAssistant", "ResearchHelper"}

var systemPrompts = []string{
	"You are an AI assistant that acts as a travel guide.",
	"You are a helpful support agent for Contoso Outdoor. Answer politely and only about our products.",
	"You are a concise assistant. Answer in one sentence with bullet points.",
	"You summarize documents for busy managers. Use plain language.",
	"You are a research assistant. Cite the knowledge base article id for every claim.",
	"You translate text faithfully and keep the original formatting.",
	"You write friendly product descriptions of about fifty words.",
	"You classify support tickets into billing, shipping, account or other.",
}

var constraints = []string{
	"Keep the answer under 100 words.",
	"Never reveal internal policies.",
	"If you are not sure, say so.",
	"Use the metric system.",
	"Reply in the language of the user.",
}

var questions = []string{
	"What are some recommended supplies for a %s trip in the %s?",
	"Summarize the %s report for the %s team in three bullet points.",
	"How do I reset my %s password on the %s portal?",
	"Draft a short reply to a customer asking about %s delivery to the %s.",
	"Explain the difference between %s and %s in simple terms.",
	"Which %s options are available near the %s this weekend?",
	"Translate this note about the %s into French: meet at the %s at noon.",
	"Write a product description for a %s made for the %s.",
	"List the main risks of the %s plan and how to reduce them for the %s.",
	"Classify this support ticket: my %s arrived broken after the %s.",
}

var nouns = []string{
	"camping", "mountains", "quarterly", "finance", "account", "billing", "backpack",
	"coast", "tent", "desert", "winter", "lake", "shipping", "warehouse", "kayak",
	"forest", "sales", "marketing", "stove", "city", "hiking", "river", "invoice",
	"storm", "jacket", "island", "budget", "festival", "bicycle", "valley",
}

var words = []string{
	"the", "a", "bring", "pack", "light", "warm", "layers", "water", "filter", "map",
	"compass", "first", "aid", "kit", "sunscreen", "headlamp", "extra", "batteries",
	"food", "snacks", "sturdy", "boots", "rain", "jacket", "check", "forecast",
	"before", "you", "go", "and", "keep", "your", "plan", "simple", "team", "report",
	"shows", "growth", "in", "sales", "costs", "rose", "slightly", "order", "ships",
	"within", "two", "days", "please", "contact", "support", "if", "needed", "we",
	"recommend", "a", "reset", "link", "from", "settings", "page", "should", "arrive",
	"soon", "risk", "is", "low", "but", "monitor", "budget", "closely", "weather",
	"can", "change", "quickly", "at", "high", "altitude", "carry", "enough", "fuel",
	"for", "stove", "tent", "with", "good", "ventilation", "sleeping", "bag", "rated",
	"below", "freezing", "tell", "someone", "route", "return", "time", "also",
	"consider", "trekking", "poles", "insect", "repellent", "knife", "whistle",
}
