package tlsutil

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"
)

// The certificate made serves HTTPS that a client trusting only that
// certificate (as NODE_EXTRA_CA_CERTS or SSL_CERT_FILE make it) accepts,
// and a second call reuses it.
func TestSelfSigned(t *testing.T) {
	dir := t.TempDir()
	cert, key, created, err := SelfSigned(dir, []string{"genscope.local"}, time.Now())
	if err != nil || !created {
		t.Fatalf("SelfSigned: %v created=%v", err, created)
	}
	if st, _ := os.Stat(key); st.Mode().Perm() != 0o600 {
		t.Errorf("key mode %v, want 0600", st.Mode().Perm())
	}
	if _, _, again, err := SelfSigned(dir, nil, time.Now()); err != nil || again {
		t.Fatalf("second call: %v created=%v", err, again)
	}
	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}}
	srv.StartTLS()
	defer srv.Close()
	pemBytes, _ := os.ReadFile(cert)
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		t.Fatal("certificate does not parse")
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Get(srv.URL)
	if err != nil {
		t.Fatalf("client trusting the certificate: %v", err)
	}
	resp.Body.Close()
}
