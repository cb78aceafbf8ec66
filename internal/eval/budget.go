package eval

import (
	"sync"
	"time"
)

// budget allows at most per runs in each minute (fixed windows).
type budget struct {
	per int

	mu     sync.Mutex
	window time.Time
	used   int
}

// take reports whether one more run fits in now's minute, and counts it.
func (b *budget) take(now time.Time) bool {
	if b == nil {
		return true
	}
	m := now.Truncate(time.Minute)
	b.mu.Lock()
	defer b.mu.Unlock()
	if !m.Equal(b.window) {
		b.window, b.used = m, 0
	}
	if b.used >= b.per {
		return false
	}
	b.used++
	return true
}
