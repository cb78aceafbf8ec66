package appinsights

import (
	"strings"

	"github.com/google/uuid"
)

// keyNamespace makes instrumentation keys from project names.
var keyNamespace = uuid.MustParse("5c2f7a52-7c1e-4c59-9d0e-3b9a1f6e2d41")

// InstrumentationKey is the instrumentation key genscope hands out for a
// project: a lowercase UUID derived from its name, so it is stable. With
// authentication off, every key reaches the default project.
func InstrumentationKey(project string) string {
	return uuid.NewSHA1(keyNamespace, []byte(project)).String()
}

// ConnectionString is what an Azure Monitor exporter is configured with to
// send to genscope at endpoint (such as "http://127.0.0.1:4318").
func ConnectionString(endpoint, project string) string {
	endpoint = strings.TrimRight(endpoint, "/") + "/"
	return "InstrumentationKey=" + InstrumentationKey(project) + ";IngestionEndpoint=" + endpoint + ";LiveEndpoint=" + endpoint
}
