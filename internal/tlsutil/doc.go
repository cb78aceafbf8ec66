// Package tlsutil makes the self-signed certificate genscope serves HTTPS
// with when no certificate is configured but TLS is asked for: some
// clients (the Node.js Azure Monitor exporter) only speak HTTPS.
package tlsutil
