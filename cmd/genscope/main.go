// Command genscope is self-hosted monitoring for generative-AI
// applications: it takes OpenTelemetry (and, later, Application Insights
// and gateway) telemetry of model calls, stores it, and answers what every
// call cost, how long it took, what went in and what came out.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/genscope/genscope/internal/app"
	"github.com/genscope/genscope/internal/bench"
	"github.com/genscope/genscope/internal/config"
	"github.com/genscope/genscope/internal/ingest/appinsights"
)

const usage = `genscope — monitoring for generative-AI applications

Usage:
  genscope serve [--listen ADDR] [--grpc-listen ADDR] [--data DIR] [--config FILE]
                 [--tls-cert FILE --tls-key FILE | --tls-self-signed]
  genscope connection-string [--endpoint URL] [--project NAME]
                                  the Application Insights connection string for an Azure Monitor exporter
  genscope bench ingest [flags]   measure OTLP ingest throughput against a fresh server
  genscope bench query [flags]    generate a dataset and measure query latency
  genscope help

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
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
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
	tlsCert := fs.String("tls-cert", "", "serve HTTPS with this certificate (PEM)")
	tlsKey := fs.String("tls-key", "", "and this key (PEM)")
	tlsSelf := fs.Bool("tls-self-signed", false, "serve HTTPS with a self-signed certificate kept in the data directory")
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
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
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
		}
	})
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
	endpoint := fs.String("endpoint", "http://"+config.Default().Listen, "genscope's HTTP address as the exporter reaches it (https://... when serving TLS)")
	project := fs.String("project", "default", "project the telemetry goes to")
	if err := fs.Parse(args); err != nil {
		return err
	}
	fmt.Fprintln(stdout, appinsights.ConnectionString(*endpoint, *project))
	return nil
}
