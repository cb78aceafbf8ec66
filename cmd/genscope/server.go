package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/genscope/genscope/internal/app"
	"github.com/genscope/genscope/internal/config"
)

// serverAddr is the base URL of the genscope a command talks to: --server
// when given, else the listen address and TLS setting of the config file,
// else the default listen address.
func serverAddr(server, configFile string) (string, error) {
	if server != "" {
		u, err := url.Parse(server)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return "", fmt.Errorf("--server %q: want http://HOST:PORT or https://HOST:PORT", server)
		}
		return strings.TrimRight(server, "/"), nil
	}
	cfg := config.Default()
	if configFile != "" {
		var err error
		if cfg, err = config.Load(configFile); err != nil {
			return "", err
		}
	}
	host, port, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return "", fmt.Errorf("listen address %q: %w", cfg.Listen, err)
	}
	switch host {
	case "", "0.0.0.0", "::":
		host = "127.0.0.1" // listening everywhere: reach it here
	}
	scheme := "http"
	if cfg.TLS.Enabled() || cfg.TLS.SelfSigned {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(host, port), nil
}

// errNothingListens is probe's answer when no server accepts connections
// at the address.
var errNothingListens = errors.New("nothing listens there")

// probe checks that a genscope answers at base. Its error says what
// answers instead: nothing (errNothingListens), a server whose TLS
// certificate this machine does not trust, or something that is not
// genscope.
func probe(base string) error {
	c := http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get(base + "/healthz")
	if err != nil {
		var unknown x509.UnknownAuthorityError
		var invalid x509.CertificateInvalidError
		var host x509.HostnameError
		var rec tls.RecordHeaderError
		switch {
		case errors.Is(err, syscall.ECONNREFUSED):
			return errNothingListens
		case errors.As(err, &unknown):
			return fmt.Errorf("%s answers with a TLS certificate this machine does not trust (genscope serve --tls-self-signed makes one): "+
				"trust it with SSL_CERT_FILE=<genscope's data>/tls/cert.pem genscope demo --server %s", base, base)
		case errors.As(err, &invalid), errors.As(err, &host):
			return fmt.Errorf("%s answers with a TLS certificate that is not valid for it: %v", base, err)
		case errors.As(err, &rec):
			return fmt.Errorf("%s does not speak HTTPS (try http://)", base)
		}
		return fmt.Errorf("no answer from %s: %w", base, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64))
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != "ok" {
		return fmt.Errorf("something answers at %s, but not genscope (GET /healthz: %s)", base, resp.Status)
	}
	return nil
}

// startDemoServer starts a genscope for the demo at base, which must be a
// plain-HTTP loopback address nothing listens at. A data directory it
// creates is removed again when the server cannot start.
func startDemoServer(ctx context.Context, base, data string, stderr io.Writer) (*app.App, error) {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("--server %q is not a URL", base)
	}
	if !loopback(u.Hostname()) {
		return nil, fmt.Errorf("no genscope answers at %s (start one there with genscope serve, or give the demo a --server that answers)", base)
	}
	if u.Scheme != "http" {
		return nil, fmt.Errorf("no genscope answers at %s; the demo starts plain-HTTP servers only: run genscope serve --tls-self-signed --listen %s", base, u.Host)
	}
	_, statErr := os.Stat(data)
	created := errors.Is(statErr, os.ErrNotExist)
	cfg := config.Default()
	cfg.Listen, cfg.Data = u.Host, data
	fmt.Fprintf(stderr, "no genscope answers at %s: starting one (data in %s)\n", base, data)
	a, err := app.New(ctx, cfg, app.Logger("warn"))
	if err != nil {
		if created {
			_ = os.RemoveAll(data)
		}
		return nil, err
	}
	return a, nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
