package quota

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Caller is who makes a call: the project, the end user (the request's
// user field or x-user-id; "" when none) and the gateway key (its id and
// limits; "" when the call carries none).
type Caller struct {
	Project   string
	User      string
	Key       string
	KeyLimits Limits
}

// Options configure a Limiter.
type Options struct {
	// Rules are the limits of projects and end users.
	Rules []Rule
	// Path is the file usage is kept in across restarts; "" keeps it in
	// memory only.
	Path string
	// FlushEvery is how often changed usage is written to Path; default
	// 5s (a crash loses at most that much usage).
	FlushEvery time.Duration
	// MaxSubjects bounds the keys, projects and end users tracked;
	// default 100,000. When it is reached, subjects with nothing counting
	// go first, then the least recently seen.
	MaxSubjects int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Log reports a state file that could not be read or written.
	Log *slog.Logger
}

// The subjects' scopes.
const (
	ScopeKey     = "key"
	ScopeProject = "project"
	ScopeUser    = "user"
)

// The limits' names, as in the config and the 429's message.
const (
	RequestsPerMinute = "requests_per_minute"
	TokensPerMinute   = "tokens_per_minute"
	USDPerDay         = "usd_per_day"
	USDPerMonth       = "usd_per_month"
)

// counter is one subject's usage in the current windows, and the limits
// that applied to it last.
type counter struct {
	Scope    string  `json:"scope"`
	Project  string  `json:"project,omitempty"`
	Name     string  `json:"name"`
	Minute   int64   `json:"minute"` // unix minute of Requests and Tokens
	Requests int64   `json:"requests"`
	Tokens   int64   `json:"tokens"`
	Day      int64   `json:"day"` // UTC days since the epoch of DayUSD
	DayUSD   float64 `json:"day_usd"`
	Month    int64   `json:"month"` // year*12 + month-1 of MonthUSD
	MonthUSD float64 `json:"month_usd"`
	Seen     int64   `json:"seen"` // unix seconds it was last used
	Limits   Limits  `json:"limits"`
}

func minuteOf(t time.Time) int64 { return t.Unix() / 60 }
func dayOf(t time.Time) int64    { return t.Unix() / 86400 }
func monthOf(t time.Time) int64 {
	u := t.UTC()
	return int64(u.Year())*12 + int64(u.Month()) - 1
}

// roll starts the windows that have ended afresh.
func (c *counter) roll(now time.Time) {
	m := minuteOf(now)
	if c.Minute == m {
		// the same minute: the same day and month (UTC windows are
		// aligned on minutes)
		c.Seen = now.Unix()
		return
	}
	c.Minute, c.Requests, c.Tokens = m, 0, 0
	if d := dayOf(now); c.Day != d {
		c.Day, c.DayUSD = d, 0
	}
	if m := monthOf(now); c.Month != m {
		c.Month, c.MonthUSD = m, 0
	}
	c.Seen = now.Unix()
}

// idle reports whether nothing counts any more at now.
func (c *counter) idle(now time.Time) bool {
	return (c.Minute != minuteOf(now) || c.Requests == 0 && c.Tokens == 0) &&
		(c.Day != dayOf(now) || c.DayUSD == 0) && (c.Month != monthOf(now) || c.MonthUSD == 0)
}

// Limiter admits calls within their limits and counts what they used.
// Its methods are safe for concurrent use.
type Limiter struct {
	opts  Options
	rules []Rule

	mu    sync.Mutex
	subj  map[subject]*counter
	dirty bool

	stop chan struct{}
	done chan struct{}
}

// New returns a Limiter with the usage kept at opts.Path. A state file
// that cannot be read is moved aside (to .bad) and reported, so a
// damaged file never keeps the gateway from starting.
func New(opts Options) (*Limiter, error) {
	if err := ValidateRules("limits", opts.Rules); err != nil {
		return nil, err
	}
	if opts.FlushEvery <= 0 {
		opts.FlushEvery = 5 * time.Second
	}
	if opts.MaxSubjects <= 0 {
		opts.MaxSubjects = 100_000
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	l := &Limiter{opts: opts, rules: opts.Rules, subj: make(map[subject]*counter)}
	if opts.Path != "" {
		if err := l.load(); err != nil {
			return nil, err
		}
		l.stop, l.done = make(chan struct{}), make(chan struct{})
		go l.flushLoop()
	}
	return l, nil
}

// Close writes the usage one last time and stops the flushing.
func (l *Limiter) Close() error {
	if l.stop == nil {
		return nil
	}
	select {
	case <-l.stop:
		return nil
	default:
	}
	close(l.stop)
	<-l.done
	return l.flush()
}

// Ticket is an admitted call: the subjects its tokens and spend count
// against (a key, a project, an end user: at most three).
type Ticket struct {
	n   int
	ids [3]subject
}

// subject names a key (by id), a project or an end user (of a project).
type subject struct {
	scope, project, name string
}

// String is the subject's id in the state file.
func (s subject) String() string { return s.scope + "\x00" + s.project + "\x00" + s.name }

func parseSubject(id string) (subject, bool) {
	scope, rest, ok1 := strings.Cut(id, "\x00")
	project, name, ok2 := strings.Cut(rest, "\x00")
	if !ok1 || !ok2 || (scope != ScopeKey && scope != ScopeProject && scope != ScopeUser) {
		return subject{}, false
	}
	return subject{scope, project, name}, true
}

// Refusal says which limit refused a call and when it resets.
type Refusal struct {
	Scope string // ScopeKey, ScopeProject or ScopeUser
	Name  string // the key's id, the project, the end user
	Limit string // RequestsPerMinute, ...
	Max   float64
	Used  float64
	Reset time.Time
}

func (r *Refusal) Error() string {
	return fmt.Sprintf("%s %s reached its %s limit (%s of %s); it resets at %s",
		r.Scope, strconv.Quote(r.Name), r.Limit, num(r.Used), num(r.Max), r.Reset.UTC().Format(time.RFC3339))
}

// RetryAfter is the whole seconds from now until the limit resets (at
// least 1).
func (r *Refusal) RetryAfter(now time.Time) int {
	return max(1, int(math.Ceil(r.Reset.Sub(now).Seconds())))
}

// Spend reports whether a spend budget (not a rate limit) refused.
func (r *Refusal) Spend() bool { return r.Limit == USDPerDay || r.Limit == USDPerMonth }

func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// applied is one subject a call counts against, with the limits on it.
type applied struct {
	id  subject
	lim Limits
}

// Active reports whether any rule is configured (keys may still carry
// limits of their own).
func (l *Limiter) Active() bool { return len(l.rules) > 0 }

// subjects lists what c counts against, each with the tightest of the
// limits that apply to it.
func (l *Limiter) subjects(c Caller, buf []applied) []applied {
	out := buf[:0]
	add := func(id subject, lim Limits) {
		for i := range out {
			if out[i].id == id {
				out[i].lim = tightest(out[i].lim, lim)
				return
			}
		}
		out = append(out, applied{id: id, lim: lim})
	}
	if c.Key != "" && !c.KeyLimits.IsZero() {
		add(subject{ScopeKey, c.Project, c.Key}, c.KeyLimits)
	}
	for _, r := range l.rules {
		if r.User == "" {
			if r.Project == "*" || r.Project == c.Project {
				add(subject{ScopeProject, c.Project, c.Project}, r.Limits)
			}
			continue
		}
		if c.User == "" || (r.User != "*" && r.User != c.User) {
			continue
		}
		if r.Project == "" || r.Project == "*" || r.Project == c.Project {
			add(subject{ScopeUser, c.Project, c.User}, r.Limits)
		}
	}
	return out
}

func tightest(a, b Limits) Limits {
	mi := func(x, y int64) int64 {
		if x == 0 || (y != 0 && y < x) {
			return y
		}
		return x
	}
	mf := func(x, y float64) float64 {
		if x == 0 || (y != 0 && y < x) {
			return y
		}
		return x
	}
	return Limits{mi(a.RequestsPerMinute, b.RequestsPerMinute), mi(a.TokensPerMinute, b.TokensPerMinute),
		mf(a.USDPerDay, b.USDPerDay), mf(a.USDPerMonth, b.USDPerMonth)}
}

// Admit admits a call when every limit that applies to it has room,
// counting the request at once; otherwise it reports the first limit
// reached and counts nothing.
func (l *Limiter) Admit(c Caller) (Ticket, *Refusal) {
	if len(l.rules) == 0 && c.KeyLimits.IsZero() {
		return Ticket{}, nil
	}
	var buf [3]applied
	subs := l.subjects(c, buf[:])
	if len(subs) == 0 {
		return Ticket{}, nil
	}
	now := l.opts.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	var cs [3]*counter
	for i, s := range subs {
		ct := l.counter(s, now)
		cs[i] = ct
		if r := refuse(ct, s, now); r != nil {
			return Ticket{}, r
		}
	}
	t := Ticket{n: len(subs)}
	for i, s := range subs {
		cs[i].Requests++
		cs[i].Limits = s.lim
		t.ids[i] = s.id
	}
	l.dirty = true
	return t, nil
}

// counter returns a subject's counter, rolled to now, making it if need
// be. l.mu is held.
func (l *Limiter) counter(s applied, now time.Time) *counter {
	ct, ok := l.subj[s.id]
	if !ok {
		if len(l.subj) >= l.opts.MaxSubjects {
			l.evict(now)
		}
		ct = &counter{Scope: s.id.scope, Project: s.id.project, Name: s.id.name, Limits: s.lim}
		l.subj[s.id] = ct
	}
	ct.roll(now)
	return ct
}

// refuse reports the first of s's limits its counter has reached.
func refuse(ct *counter, s applied, now time.Time) *Refusal {
	r := func(limit string, mx, used float64, reset time.Time) *Refusal {
		return &Refusal{Scope: s.id.scope, Name: s.id.name, Limit: limit, Max: mx, Used: used, Reset: reset}
	}
	lim := s.lim
	switch {
	case lim.RequestsPerMinute > 0 && ct.Requests >= lim.RequestsPerMinute:
		return r(RequestsPerMinute, float64(lim.RequestsPerMinute), float64(ct.Requests), nextMinute(now))
	case lim.TokensPerMinute > 0 && ct.Tokens >= lim.TokensPerMinute:
		return r(TokensPerMinute, float64(lim.TokensPerMinute), float64(ct.Tokens), nextMinute(now))
	case lim.USDPerDay > 0 && ct.DayUSD >= lim.USDPerDay:
		return r(USDPerDay, lim.USDPerDay, ct.DayUSD, nextDay(now))
	case lim.USDPerMonth > 0 && ct.MonthUSD >= lim.USDPerMonth:
		return r(USDPerMonth, lim.USDPerMonth, ct.MonthUSD, nextMonth(now))
	}
	return nil
}

func nextMinute(t time.Time) time.Time { return time.Unix((minuteOf(t)+1)*60, 0).UTC() }
func nextDay(t time.Time) time.Time    { return time.Unix((dayOf(t)+1)*86400, 0).UTC() }
func nextMonth(t time.Time) time.Time {
	u := t.UTC()
	return time.Date(u.Year(), u.Month()+1, 1, 0, 0, 0, 0, time.UTC)
}

// Record counts a finished call's tokens and spend against the subjects
// it was admitted for.
func (l *Limiter) Record(t Ticket, tokens int64, usd float64) {
	if t.n == 0 || (tokens <= 0 && usd <= 0) || math.IsNaN(usd) || math.IsInf(usd, 0) {
		return
	}
	now := l.opts.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, id := range t.ids[:t.n] {
		ct, ok := l.subj[id]
		if !ok {
			continue // forgotten meanwhile (MaxSubjects)
		}
		ct.roll(now)
		ct.Tokens += max(tokens, 0)
		ct.DayUSD += max(usd, 0)
		ct.MonthUSD += max(usd, 0)
	}
	l.dirty = true
}

// evict makes room: subjects with nothing counting go, then (if that
// freed less than a sixteenth) the least recently seen. l.mu is held.
func (l *Limiter) evict(now time.Time) {
	for id, ct := range l.subj {
		if ct.idle(now) {
			delete(l.subj, id)
		}
	}
	want := l.opts.MaxSubjects - l.opts.MaxSubjects/16
	if len(l.subj) <= want {
		return
	}
	type seen struct {
		id subject
		at int64
	}
	all := make([]seen, 0, len(l.subj))
	for id, ct := range l.subj {
		all = append(all, seen{id, ct.Seen})
	}
	slices.SortFunc(all, func(a, b seen) int { return cmp.Compare(a.at, b.at) })
	for _, s := range all[:len(all)-want] {
		delete(l.subj, s.id)
	}
}

// Usage is a subject's usage against its limits.
type Usage struct {
	Scope              string    `json:"scope"`
	Name               string    `json:"name"`
	Limits             Limits    `json:"limits"`
	RequestsThisMinute int64     `json:"requests_this_minute"`
	TokensThisMinute   int64     `json:"tokens_this_minute"`
	USDToday           float64   `json:"usd_today"`
	USDThisMonth       float64   `json:"usd_this_month"`
	MinuteResets       time.Time `json:"minute_resets"`
	DayResets          time.Time `json:"day_resets"`
	MonthResets        time.Time `json:"month_resets"`
	// UsedPercent is the highest share of a limit used, in percent.
	UsedPercent float64 `json:"used_percent"`
	// BudgetUsedPercent is the highest share of a spend budget (USD per
	// day or month) used, in percent; 0 without a budget.
	BudgetUsedPercent float64 `json:"budget_used_percent"`
}

// Usage lists the usage of a project's subjects — the project, its end
// users and its keys with limits — that are tracked, most used first.
func (l *Limiter) Usage(project string) []Usage {
	now := l.opts.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	out := []Usage{}
	for _, ct := range l.subj {
		if ct.Project != project {
			continue
		}
		c := *ct
		c.roll(now) // a copy: reading changes nothing
		u := Usage{Scope: c.Scope, Name: c.Name, Limits: c.Limits,
			RequestsThisMinute: c.Requests, TokensThisMinute: c.Tokens, USDToday: c.DayUSD, USDThisMonth: c.MonthUSD,
			MinuteResets: nextMinute(now), DayResets: nextDay(now), MonthResets: nextMonth(now)}
		pct := func(used, lim float64) float64 {
			if lim <= 0 {
				return 0
			}
			return 100 * used / lim
		}
		u.BudgetUsedPercent = max(pct(c.DayUSD, c.Limits.USDPerDay), pct(c.MonthUSD, c.Limits.USDPerMonth))
		u.UsedPercent = max(u.BudgetUsedPercent, pct(float64(c.Requests), float64(c.Limits.RequestsPerMinute)),
			pct(float64(c.Tokens), float64(c.Limits.TokensPerMinute)))
		out = append(out, u)
	}
	slices.SortFunc(out, func(a, b Usage) int {
		return cmp.Or(cmp.Compare(b.UsedPercent, a.UsedPercent), cmp.Compare(a.Scope, b.Scope), cmp.Compare(a.Name, b.Name))
	})
	return out
}

// BudgetUsedPercent is the highest share of a spend budget used by any of
// the project's subjects (the project, its end users, its keys), in
// percent.
func (l *Limiter) BudgetUsedPercent(project string) float64 {
	var top float64
	for _, u := range l.Usage(project) {
		top = max(top, u.BudgetUsedPercent)
	}
	return top
}

// BudgetUsedByProject is BudgetUsedPercent of every project that has a
// subject tracked under a spend budget.
func (l *Limiter) BudgetUsedByProject() map[string]float64 {
	now := l.opts.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]float64{}
	for _, ct := range l.subj {
		if ct.Limits.USDPerDay <= 0 && ct.Limits.USDPerMonth <= 0 {
			continue
		}
		c := *ct
		c.roll(now)
		pct := 0.0
		if c.Limits.USDPerDay > 0 {
			pct = 100 * c.DayUSD / c.Limits.USDPerDay
		}
		if c.Limits.USDPerMonth > 0 {
			pct = max(pct, 100*c.MonthUSD/c.Limits.USDPerMonth)
		}
		out[c.Project] = max(out[c.Project], pct)
	}
	return out
}

// state is the file's content.
type state struct {
	Version  int                 `json:"version"`
	Subjects map[string]*counter `json:"subjects"`
}

func (l *Limiter) load() error {
	raw, err := os.ReadFile(l.opts.Path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("quota state %s: %w", l.opts.Path, err)
	}
	var st state
	if err := json.Unmarshal(raw, &st); err != nil || st.Version != 1 {
		if err == nil {
			err = fmt.Errorf("version %d is not 1", st.Version)
		}
		bad := l.opts.Path + ".bad"
		if rerr := os.Rename(l.opts.Path, bad); rerr != nil {
			return fmt.Errorf("quota state %s: %v; and it could not be moved aside: %w", l.opts.Path, err, rerr)
		}
		l.opts.Log.Error("gateway limits: the usage file could not be read; usage starts afresh", "path", l.opts.Path, "moved_to", bad, "err", err)
		return nil
	}
	now := l.opts.Now()
	for key, ct := range st.Subjects {
		id, ok := parseSubject(key)
		if !ok || ct == nil || ct.idle(now) {
			continue
		}
		ct.Scope, ct.Project, ct.Name = id.scope, id.project, id.name
		if len(l.subj) >= l.opts.MaxSubjects {
			break
		}
		l.subj[id] = ct
	}
	return nil
}

func (l *Limiter) flushLoop() {
	defer close(l.done)
	t := time.NewTicker(l.opts.FlushEvery)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			if err := l.flush(); err != nil {
				l.opts.Log.Error("gateway limits: usage not saved", "err", err)
			}
		}
	}
}

// flush writes the usage when it changed, atomically (a new file renamed
// over the old one).
func (l *Limiter) flush() error {
	l.mu.Lock()
	if !l.dirty {
		l.mu.Unlock()
		return nil
	}
	now := l.opts.Now()
	st := state{Version: 1, Subjects: make(map[string]*counter, len(l.subj))}
	for id, ct := range l.subj {
		if !ct.idle(now) {
			c := *ct
			st.Subjects[id.String()] = &c
		}
	}
	l.dirty = false
	l.mu.Unlock()
	raw, err := json.Marshal(st)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(l.opts.Path, raw); err != nil {
		l.mu.Lock()
		l.dirty = true
		l.mu.Unlock()
		return err
	}
	return nil
}

func writeFileAtomic(path string, raw []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("quota state: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".limits-*")
	if err != nil {
		return fmt.Errorf("quota state: %w", err)
	}
	tmp := f.Name()
	_, err = f.Write(raw)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("quota state %s: %w", path, err)
	}
	return nil
}
