package quota

import (
	"strconv"
	"testing"
)

// BenchmarkAdmit is the check on a call's path (a key's, a project's and
// an end user's limits, 1,000 end users) and the count after it, from
// every core at once; limits=off is the same call with no limit set.
func BenchmarkAdmit(b *testing.B) {
	users := make([]string, 1000)
	for i := range users {
		users[i] = "user-" + strconv.Itoa(i)
	}
	for _, on := range []bool{false, true} {
		b.Run("limits="+strconv.FormatBool(on), func(b *testing.B) {
			var opts Options
			key := Limits{}
			if on {
				opts.Rules = []Rule{{Project: "*", Limits: Limits{RequestsPerMinute: 1 << 40, USDPerDay: 1e12}}, {User: "*", Limits: Limits{RequestsPerMinute: 1 << 40}}}
				key = Limits{RequestsPerMinute: 1 << 40}
			}
			l, err := New(opts)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					i++
					t, r := l.Admit(Caller{Project: "default", User: users[i%len(users)], Key: "k1", KeyLimits: key})
					if r != nil {
						b.Fatal(r)
					}
					l.Record(t, 100, 1e-4)
				}
			})
		})
	}
}
