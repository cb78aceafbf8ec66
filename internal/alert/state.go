package alert

import (
	"context"
	"net/url"
	"time"
)

// State is where an alert (a rule, or one value of its split dimension)
// stands.
type State string

// States: an alert starts OK, fires when its rule's condition holds often
// enough, and resolves when it no longer holds (then it can fire again).
const (
	StateOK       State = "ok"
	StateFired    State = "fired"
	StateResolved State = "resolved"
)

// Instance is one alert: a rule, or one value of its split dimension.
type Instance struct {
	ID       string  `json:"id"` // rule id, or rule id + "/" + escaped key
	RuleID   string  `json:"rule_id"`
	RuleName string  `json:"rule_name"`
	Severity int     `json:"severity"`
	SplitBy  string  `json:"split_by,omitempty"`
	Key      string  `json:"key,omitempty"` // the split dimension's value
	State    State   `json:"state"`
	Value    float64 `json:"value"`     // of the last evaluation with data
	HasValue bool    `json:"has_value"` // whether the last evaluation had data
	Operator string  `json:"operator"`
	// Threshold is the rule's when the state last changed.
	Threshold float64 `json:"threshold"`
	// Query describes the query that computed Value.
	Query       string    `json:"query"`
	FiredAt     time.Time `json:"fired_at,omitzero"`
	ResolvedAt  time.Time `json:"resolved_at,omitzero"`
	ChangedAt   time.Time `json:"changed_at,omitzero"`
	EvaluatedAt time.Time `json:"evaluated_at,omitzero"`
	// FiredValue is the value that crossed the threshold when it fired.
	FiredValue float64 `json:"fired_value"`
	// ChangeID counts the instance's state changes; (ID, ChangeID) names
	// one notification.
	ChangeID int64 `json:"change_id"`
	// NotifiedChange is the last ChangeID handed to the notify function.
	NotifiedChange int64 `json:"notified_change"`
	// Recent holds whether each of the last evaluations (with data, or
	// counted by the no-data policy) violated the rule, oldest first.
	Recent []bool `json:"recent"`
}

// instanceID names the alert of a rule's split value.
func instanceID(ruleID, splitBy, key string) string {
	if splitBy == "" {
		return ruleID
	}
	return ruleID + "/" + url.PathEscape(key)
}

// outcome is what one evaluation saw for an instance.
type outcome int

const (
	noData outcome = iota
	notViolated
	violated
)

// step advances the state machine by one evaluation and reports whether
// the state changed. A fired alert resolves (with auto-resolve) at the
// first evaluation that is not violated and leaves fewer than Violations
// violations among the last Evaluations.
func (in *Instance) step(r *Rule, o outcome, value float64, query string, now time.Time) bool {
	in.EvaluatedAt = now
	in.Query = query
	in.HasValue = o != noData
	if o != noData {
		in.Value = value
	}
	if o == noData {
		switch r.NoData {
		case NoDataOK:
			o = notViolated
		case NoDataFire:
			o = violated
		default:
			return false
		}
	}
	in.Recent = append(in.Recent, o == violated)
	if n := max(r.Evaluations, 1); len(in.Recent) > n {
		in.Recent = append(in.Recent[:0], in.Recent[len(in.Recent)-n:]...)
	}
	count := 0
	for _, v := range in.Recent {
		if v {
			count++
		}
	}
	switch {
	case in.State != StateFired && count >= max(r.Violations, 1):
		in.State, in.FiredAt, in.ResolvedAt, in.FiredValue = StateFired, now, time.Time{}, in.Value
	case in.State == StateFired && r.AutoResolve && o == notViolated && count < max(r.Violations, 1):
		in.State, in.ResolvedAt = StateResolved, now
	default:
		return false
	}
	in.ChangedAt = now
	in.ChangeID++
	in.Threshold, in.Operator = r.Threshold, r.Operator
	return true
}

// Event is one state change in the history.
type Event struct {
	Time      time.Time `json:"time"`
	AlertID   string    `json:"alert_id"`
	RuleID    string    `json:"rule_id"`
	RuleName  string    `json:"rule_name"`
	Severity  int       `json:"severity"`
	Key       string    `json:"key,omitempty"`
	From      State     `json:"from"`
	To        State     `json:"to"`
	Value     float64   `json:"value"`
	HasValue  bool      `json:"has_value"`
	Operator  string    `json:"operator"`
	Threshold float64   `json:"threshold"`
	Query     string    `json:"query"`
	ChangeID  int64     `json:"change_id"`
}

// Notification is what the notify function gets for a state change (or a
// test). ID is the same for every delivery attempt of that change, across
// restarts, so that receivers and the notifier can deduplicate.
type Notification struct {
	ID    string   `json:"id"` // alert id + "#" + change id
	Rule  Rule     `json:"rule"`
	Alert Instance `json:"alert"`
	Test  bool     `json:"test,omitempty"`
}

// NotifyFunc hands a notification over for delivery. It should return
// once the notification is durably queued (not delivered): the engine
// calls it from evaluation. An error means it was not queued; the engine
// tries again at the rule's next evaluation and at start.
type NotifyFunc func(ctx context.Context, n Notification) error

// Kinds of documents and events the engine stores.
const (
	KindRule     = "alert_rule"
	KindInstance = "alert_instance"
	KindHistory  = "alert_history"
)
