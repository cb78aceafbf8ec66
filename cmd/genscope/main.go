// Command genscope is self-hosted monitoring for generative-AI
// applications: it takes OpenTelemetry (and, later, Application Insights
// and gateway) telemetry of model calls, stores it, and answers what every
// call cost, how long it took, what went in and what came out.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/genscope/genscope/internal/alertcli"
	"github.com/genscope/genscope/internal/api"
	"github.com/genscope/genscope/internal/app"
	"github.com/genscope/genscope/internal/bench"
	"github.com/genscope/genscope/internal/config"
	"github.com/genscope/genscope/internal/ingest/appinsights"
	"github.com/genscope/genscope/internal/sim/demo"
	"github.com/genscope/genscope/internal/storecopy"
	"github.com/genscope/genscope/internal/tenancy"
)

const usage = `genscope — monitoring for generative-AI applications

Usage:
  genscope serve [--listen ADDR] [--grpc-listen ADDR] [--data DIR] [--config FILE] [--store clickhouse://HOST:PORT/DB]
                 [--tls-cert FILE --tls-key FILE | --tls-self-signed] [--components ingest,gateway,api,alerts]
  genscope connection-string [--server URL | --config FILE] [--project NAME]
                                  the Application Insights connection string for an Azure Monitor exporter
  genscope demo [--server URL | --config FILE] [--deployment D] [--spans app|openai|none] [--history 30d [--history-spans N]] [--exit]
                                  run the lab's traffic through the gateway (starts a server when nothing
                                  listens at a local address)
  genscope prompt "text" [--system S] [--deployment D] [--stream] [--server URL]
                                  send one prompt through the gateway and print the answer and its usage
                                  (with auth on: GENSCOPE_GATEWAY_KEY, and GENSCOPE_INGEST_KEY for the demo's spans)
  genscope alerts list|get|evaluate|history|groups|fire-test [ID] [--server URL]
                                  alert rules, alerts and action groups of a running server
  genscope copy --from STORE --to STORE
                                  copy everything between stores (duckdb:PATH, clickhouse://HOST:PORT/DB), resumable
  genscope bench ingest [flags]   measure OTLP ingest throughput against a fresh server
  genscope bench flood [flags]    a flood of large batches: peak RSS against 1 GiB, then how soon a normal request is served
  genscope bench query [flags]    generate a dataset and measure query latency
  genscope bench gateway [flags]  the gateway's overhead: calls through it vs straight to the same upstream
  genscope bench alerts [flags]   the CPU that evaluating many alert rules costs
  genscope bench clickhouse [-store clickhouse://HOST:PORT/DB]
                                  ClickHouse ingest rate, and aggregate queries vs DuckDB on the same dataset
  genscope version                the version and revision this binary was built from
  genscope help

The address of a running genscope (connection-string, demo, prompt, alerts) is --server, else the
listen address (and TLS) of --config FILE or $GENSCOPE_CONFIG, else http://127.0.0.1:4318.

Run "genscope COMMAND -h" for the flags of a command.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "genscope:", err)
		}
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stderr)
	case "connection-string":
		return connectionString(args[1:], stdout, stderr)
	case "bench":
		return bench.Main(ctx, args[1:], stdout, stderr)
	case "demo":
		return demoCmd(ctx, args[1:], stdout, stderr)
	case "prompt":
		return promptCmd(ctx, args[1:], stdout, stderr)
	case "alerts":
		return alertcli.Main(ctx, args[1:], stdout, stderr)
	case "copy":
		return storecopy.Main(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	case "version", "--version":
		fmt.Fprintln(stdout, "genscope", api.Version())
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", args[0])
	}
}

func serve(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	def := config.Default()
	listen := fs.String("listen", def.Listen, "HTTP listen address: OTLP/HTTP, API, UI, /metrics")
	grpcListen := fs.String("grpc-listen", def.GRPCListen, "OTLP/gRPC listen address (empty to disable)")
	data := fs.String("data", def.Data, "data directory")
	configFile := fs.String("config", "", "YAML config file for everything else")
	storeURL := fs.String("store", "", "store: clickhouse://[USER:PASSWORD@]HOST:PORT/DATABASE[?cluster=NAME&http_addr=HOST:PORT], or duckdb (the file in --data, the default)")
	tlsCert := fs.String("tls-cert", "", "serve HTTPS with this certificate (PEM)")
	tlsKey := fs.String("tls-key", "", "and this key (PEM)")
	tlsSelf := fs.Bool("tls-self-signed", false, "serve HTTPS with a self-signed certificate kept in the data directory")
	components := fs.String("components", "", "the parts this node runs, of "+strings.Join(config.AllComponents, ",")+
		" (the UI comes with api; default all); with several nodes on one ClickHouse, exactly one runs alerts")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg := def
	if *configFile != "" {
		var err error
		if cfg, err = config.Load(*configFile); err != nil {
			return err
		}
	}
	// Flags given on the command line win over the file.
	var flagErr error
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "store":
			if *storeURL == "duckdb" {
				cfg.Store.Driver = "duckdb"
				break
			}
			st, path, err := config.ParseStoreURL(cfg.Store, *storeURL)
			if err == nil && path != "" {
				err = fmt.Errorf("--store: duckdb:PATH is for genscope copy; serve keeps its DuckDB file in --data")
			}
			cfg.Store, flagErr = st, err
		case "listen":
			cfg.Listen = *listen
		case "grpc-listen":
			cfg.GRPCListen = *grpcListen
		case "data":
			cfg.Data = *data
		case "tls-cert":
			cfg.TLS.CertFile = *tlsCert
		case "tls-key":
			cfg.TLS.KeyFile = *tlsKey
		case "tls-self-signed":
			cfg.TLS.SelfSigned = *tlsSelf
		case "components":
			cfg.Components = config.ParseComponents(*components)
			if len(cfg.Components) == 0 {
				flagErr = fmt.Errorf("--components: name at least one of %s", strings.Join(config.AllComponents, ", "))
			}
		}
	})
	if flagErr != nil {
		return flagErr
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	a, err := app.New(ctx, cfg, app.Logger(cfg.LogLevel))
	if err != nil {
		return err
	}
	return a.Run(ctx)
}

func connectionString(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("connection-string", flag.ContinueOnError)
	fs.SetOutput(stderr)
	server := fs.String("server", "", "genscope's HTTP address as the exporter reaches it (https://... when serving TLS); default: from --config")
	endpoint := fs.String("endpoint", "", "the same as --server")
	configFile := fs.String("config", os.Getenv("GENSCOPE_CONFIG"), "the server's config file, for its address")
	project := fs.String("project", tenancy.DefaultProject, "project the telemetry goes to")
	if err := fs.Parse(args); err != nil {
		return err
	}
	base, err := serverAddr(cmp.Or(*server, *endpoint), *configFile)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, appinsights.ConnectionString(base, *project))
	return nil
}

func demoCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	def := config.Default()
	server := fs.String("server", "", "genscope to send the lab's traffic to (default: from --config, else http://"+def.Listen+")")
	configFile := fs.String("config", os.Getenv("GENSCOPE_CONFIG"), "the server's config file, for its address")
	deployment := fs.String("deployment", "gpt-4o", "gateway deployment the calls go to")
	spans := fs.String("spans", demo.SpansApp, "the demo's own spans: app (a generate_completion span around each call, as the lab's scripts), "+
		"openai (also the OpenAI instrumentation's chat span, so the app and the gateway both record each call: counted once), none (the gateway's record alone)")
	data := fs.String("data", def.Data, "data directory, when the demo starts a server")
	exit := fs.Bool("exit", false, "when the demo started a server, stop it after the demo instead of serving on")
	historyFlag := fs.String("history", "", "also send this much simulated past traffic ending now (e.g. 30d): 50 models, 1,000 users, sessions, agents and tools")
	historySpans := fs.Int("history-spans", 1_000_000, "spans of simulated traffic --history sends")
	if err := fs.Parse(args); err != nil {
		return err
	}
	history, withHistory, err := demo.ParseHistory(*historyFlag)
	if err != nil {
		return err
	}
	if withHistory && *historySpans <= 0 {
		return fmt.Errorf("--history-spans %d: want a positive number", *historySpans)
	}
	switch *spans {
	case demo.SpansApp, demo.SpansOpenAI, demo.SpansNone:
	default:
		return fmt.Errorf("--spans %q: want %s, %s or %s", *spans, demo.SpansApp, demo.SpansOpenAI, demo.SpansNone)
	}
	base, err := serverAddr(*server, *configFile)
	if err != nil {
		return err
	}
	var running *app.App
	serveErr := make(chan error, 1)
	srvCtx, stopServer := context.WithCancel(ctx)
	defer stopServer()
	if err := probe(base); err != nil {
		if !errors.Is(err, errNothingListens) {
			return err
		}
		if running, err = startDemoServer(srvCtx, base, *data, stderr); err != nil {
			return err
		}
		go func() { serveErr <- running.Run(srvCtx) }()
		for i := 0; i < 100 && probe(base) != nil; i++ {
			time.Sleep(50 * time.Millisecond)
		}
	}
	fmt.Fprintf(stdout, "Running the lab's prompts through %s/v1/chat/completions (deployment %s)...\n\n", base, *deployment)
	session, _, err := demo.Lab(ctx, demo.LabOptions{Server: base, Deployment: *deployment, Spans: *spans, Out: stdout,
		GatewayKey: os.Getenv("GENSCOPE_GATEWAY_KEY"), IngestKey: os.Getenv("GENSCOPE_INGEST_KEY")})
	if err != nil {
		return err
	}
	if withHistory {
		fmt.Fprintf(stdout, "\nSending %s of simulated history (%d spans) to %s/v1/traces...\n", *historyFlag, *historySpans, base)
		t0 := time.Now()
		n, err := demo.History(ctx, demo.HistoryOptions{Server: base, Span: history, Spans: *historySpans,
			IngestKey: os.Getenv("GENSCOPE_INGEST_KEY"), Out: stdout})
		if err != nil {
			return fmt.Errorf("history: %d spans sent: %w", n, err)
		}
		fmt.Fprintf(stdout, "History: %d spans in %s. Dashboard: %s/?from=%s\n", n, time.Since(t0).Round(time.Second), base, *historyFlag)
	}
	fmt.Fprintf(stdout, "\nDashboard: %s/  ·  these calls: %s/spans?session=%s&from=1h\n", base, base, session)
	fmt.Fprintf(stdout, "API:       curl -s '%s/api/v1/overview?from=1h&session=%s'\n", base, session)
	if running == nil {
		return nil
	}
	if *exit {
		stopServer()
		return <-serveErr
	}
	fmt.Fprintln(stdout, "\ngenscope keeps serving; press Ctrl-C to stop.")
	return <-serveErr
}

func promptCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("prompt", flag.ContinueOnError)
	fs.SetOutput(stderr)
	server := fs.String("server", "", "genscope's address (default: from --config, else http://"+config.Default().Listen+")")
	configFile := fs.String("config", os.Getenv("GENSCOPE_CONFIG"), "the server's config file, for its address")
	system := fs.String("system", "", "system message")
	deployment := fs.String("deployment", "gpt-4o", "gateway deployment")
	stream := fs.Bool("stream", false, "stream the answer as it is generated")
	// Flags may come after the prompt: genscope prompt "text" --stream.
	var text []string
	for {
		if err := fs.Parse(args); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		text = append(text, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(text) == 0 {
		return errors.New(`prompt: give the prompt text, e.g. genscope prompt "What is OpenTelemetry?"`)
	}
	base, err := serverAddr(*server, *configFile)
	if err != nil {
		return err
	}
	_, err = demo.Prompt(ctx, demo.PromptOptions{Server: base, Deployment: *deployment, System: *system, Text: strings.Join(text, " "), Stream: *stream, Out: stdout, GatewayKey: os.Getenv("GENSCOPE_GATEWAY_KEY")})
	return err
}
