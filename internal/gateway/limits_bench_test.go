package gateway

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/quota"
)

// BenchmarkLimits is a whole gateway call (client → gateway → loopback
// upstream) with limits off and with a key's, a project's and each end
// user's limits checked (1,000 end users, limits never reached), in the
// same run: the limiter's share of a call.
func BenchmarkLimits(b *testing.B) {
	up := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, upstreamAnswer)
	})
	const body = `{"model":"gpt-4o","messages":[{"role":"user","content":"What are some recommended supplies for a camping trip in the mountains?"}]}`
	for _, on := range []bool{false, true} {
		b.Run("limits="+strconv.FormatBool(on), func(b *testing.B) {
			url, c := benchEnv(b, up, func(o *Options) {
				if !on {
					return
				}
				l, err := quota.New(quota.Options{Rules: []quota.Rule{
					{Project: "*", Limits: quota.Limits{RequestsPerMinute: 1 << 40, TokensPerMinute: 1 << 50, USDPerDay: 1e12}},
					{User: "*", Limits: quota.Limits{RequestsPerMinute: 1 << 40, USDPerMonth: 1e12}},
				}})
				if err != nil {
					b.Fatal(err)
				}
				o.Limits = l
				o.Cost = func(sp *genai.Span) (float64, bool) {
					return 1e-6 * float64(sp.Usage.InputTokens+sp.Usage.OutputTokens), true
				}
				o.CallerFor = func(*http.Request) (quota.Caller, error) {
					return quota.Caller{Project: "default", Key: "k1", KeyLimits: quota.Limits{RequestsPerMinute: 1 << 40}}, nil
				}
			})
			var n atomic.Int64
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("x-user-id", "user-"+strconv.FormatInt(n.Add(1)%1000, 10))
					resp, err := c.Do(req)
					if err != nil {
						b.Fatal(err)
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						b.Fatalf("status %d", resp.StatusCode)
					}
				}
			})
		})
	}
}
