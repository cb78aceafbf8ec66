package genai

import "strings"

// providerAliases maps names instrumentations use for a provider (older
// gen_ai.system values, OpenInference llm.provider / llm.system values,
// other spellings) to the gen_ai.provider.name well-known value.
var providerAliases = map[string]string{
	"az.ai.inference":    "azure.ai.inference",
	"azure_ai_inference": "azure.ai.inference",
	"azure.inference":    "azure.ai.inference",
	"az.ai.openai":       "azure.ai.openai",
	"azure_openai":       "azure.ai.openai",
	"azure.openai":       "azure.ai.openai",
	"azure-openai":       "azure.ai.openai",
	"azureopenai":        "azure.ai.openai",
	"azure":              "azure.ai.openai",
	"vertex_ai":          "gcp.vertex_ai",
	"vertexai":           "gcp.vertex_ai",
	"vertex":             "gcp.vertex_ai",
	"google_vertex_ai":   "gcp.vertex_ai",
	"gemini":             "gcp.gemini",
	"google_genai":       "gcp.gen_ai",
	"google":             "gcp.gen_ai",
	"aws.bedrock":        "aws.bedrock",
	"bedrock":            "aws.bedrock",
	"aws_bedrock":        "aws.bedrock",
	"aws-bedrock":        "aws.bedrock",
	"amazon_bedrock":     "aws.bedrock",
	"aws":                "aws.bedrock",
	"watsonx":            "ibm.watsonx.ai",
	"ibm_watsonx":        "ibm.watsonx.ai",
	"ibm.watsonx":        "ibm.watsonx.ai",
	"watsonx.ai":         "ibm.watsonx.ai",
	"xai":                "x_ai",
	"x.ai":               "x_ai",
	"mistral":            "mistral_ai",
	"mistralai":          "mistral_ai",
	"mistral.ai":         "mistral_ai",
}

// NormalizeProvider returns the gen_ai.provider.name well-known value for
// a provider name any convention generation used (openai, azure.ai.openai,
// aws.bedrock, gcp.vertex_ai, ...); unknown names are only lower-cased.
func NormalizeProvider(p string) string {
	p = strings.TrimSpace(p)
	if p == "" {
		return ""
	}
	if !isLowerASCII(p) {
		p = strings.ToLower(p)
	}
	if a, ok := providerAliases[p]; ok {
		return a
	}
	return p
}

// openInferenceProvider combines OpenInference's llm.provider (who hosts
// the model) and llm.system (whose API it is).
func openInferenceProvider(provider, system string) string {
	p, s := strings.ToLower(provider), strings.ToLower(system)
	switch {
	case p == "azure" && (s == "" || s == "openai"):
		return "azure.ai.openai"
	case p == "google" && (s == "vertexai" || s == "vertex_ai"):
		return "gcp.vertex_ai"
	case p != "":
		return NormalizeProvider(p)
	}
	return NormalizeProvider(s)
}

// NormalizeOperation returns the gen_ai.operation.name value for an
// operation name of any convention generation (OpenLLMetry's
// llm.request.type values included).
func NormalizeOperation(op string) string {
	op = strings.TrimSpace(op)
	if !isLowerASCII(op) {
		op = strings.ToLower(op)
	}
	switch op {
	case "completion", "completions", "text.completion":
		return "text_completion"
	case "embedding", "embed":
		return "embeddings"
	case "chat.completions", "chat_completion", "chat.completion", "chat_completions":
		return "chat"
	case "unknown":
		return ""
	}
	return op
}

// openInferenceOperation maps openinference.span.kind to an operation.
// Only model calls, tools and agents are operations; CHAIN, RETRIEVER,
// RERANKER, GUARDRAIL, EVALUATOR, PROMPT and UNKNOWN spans are not.
func openInferenceOperation(kind string) string {
	switch strings.ToUpper(kind) {
	case "LLM":
		return "chat"
	case "EMBEDDING":
		return "embeddings"
	case "TOOL":
		return "execute_tool"
	case "AGENT":
		return "invoke_agent"
	}
	return ""
}

// NormalizeKind returns the lower-case span kind (internal, server,
// client, producer, consumer or unspecified) for a kind in any spelling:
// "CLIENT", "SPAN_KIND_CLIENT", "Client", ...
func NormalizeKind(k string) string {
	if !isLowerASCII(k) {
		k = strings.ToLower(k)
	}
	k = strings.TrimPrefix(k, "span_kind_")
	switch k {
	case "internal", "server", "client", "producer", "consumer":
		return k
	}
	return "unspecified"
}

func isLowerASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			return false
		}
	}
	return true
}
