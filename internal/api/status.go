package api

import (
	"net"
	"runtime/debug"
	"time"

	"github.com/genscope/genscope/internal/ingest/appinsights"
	"github.com/genscope/genscope/internal/store"
)

// statusWindow is how far back GET /api/v1/status looks for the latest span.
const statusWindow = 30 * 24 * time.Hour

// Status is the answer of GET /api/v1/status: whether telemetry has
// arrived, and where to send it, as seen from the requesting client.
type Status struct {
	HasData          bool       `json:"has_data"`
	LastSpanTime     *time.Time `json:"last_span_time"` // the newest span of the last 30 days
	Version          string     `json:"version"`
	Project          string     `json:"project"`
	ConnectionString string     `json:"connection_string"` // for Azure Monitor exporters; "" when keys are required
	// KeysRequired says that ingestion and the gateway need a project key
	// (auth is on): create one with POST /api/v1/projects/{project}/keys;
	// an "appinsights" key's answer holds its connection string.
	KeysRequired bool      `json:"keys_required"`
	Endpoints    Endpoints `json:"endpoints"`
	Gateway      bool      `json:"gateway"`     // whether the gateway serves model calls
	Deployments  []string  `json:"deployments"` // the gateway's deployments (Azure OpenAI deployment names, OpenAI model names)
	// GatewayService is the service name of the gateway's own spans, so
	// that a client can tell them from the app's ("" when it is off).
	GatewayService string `json:"gateway_service"`
}

// Endpoints are the base URLs clients are configured with.
type Endpoints struct {
	OTLPHTTP      string `json:"otlp_http"`       // OTEL_EXPORTER_OTLP_ENDPOINT for http/protobuf
	OTLPTraces    string `json:"otlp_traces"`     // OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
	OTLPGRPC      string `json:"otlp_grpc"`       // "" when gRPC is off
	OpenAIBaseURL string `json:"openai_base_url"` // OpenAI SDK base_url
	AzureOpenAI   string `json:"azure_openai"`    // Azure OpenAI SDK azure_endpoint
	API           string `json:"api"`
}

// status answers GET /api/v1/status.
func (a *API) status(r request) (any, error) {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	base := scheme + "://" + r.Host
	st := Status{
		Version:      Version(),
		Project:      r.project,
		KeysRequired: a.keysRequired,
		Endpoints: Endpoints{
			OTLPHTTP:      base,
			OTLPTraces:    base + "/v1/traces",
			OpenAIBaseURL: base + "/v1",
			AzureOpenAI:   base,
			API:           base + "/api/v1",
		},
		Gateway:        a.deployments != nil,
		Deployments:    a.deployments,
		GatewayService: a.gatewayService,
	}
	if !a.keysRequired {
		// Without auth the instrumentation key is derived from the
		// project name; with auth it is a secret issued per project.
		st.ConnectionString = appinsights.ConnectionString(base, r.project)
	}
	if st.Deployments == nil {
		st.Deployments = []string{}
	}
	if a.grpcListen != "" {
		host, _, err := net.SplitHostPort(r.Host)
		if err != nil {
			host = r.Host
		}
		if _, port, err := net.SplitHostPort(a.grpcListen); err == nil {
			st.Endpoints.OTLPGRPC = "http://" + net.JoinHostPort(host, port)
		}
	}
	f := store.Filter{Project: r.project, From: r.now.Add(-statusWindow), To: r.now.Add(time.Hour)}
	page, err := a.st.Spans(r.ctx, store.SpansQuery{Filter: f, All: true, Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(page.Spans) > 0 {
		st.HasData = true
		t := page.Spans[0].StartTime
		st.LastSpanTime = &t
	}
	return st, nil
}

// Version is the module version and VCS revision the binary was built
// from (what GET /api/v1/status and genscope version report).
func Version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " " + s.Value[:12]
		}
	}
	return v
}
