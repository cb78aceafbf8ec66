package notify

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/genscope/genscope/internal/alert"
	"github.com/genscope/genscope/internal/tenancy"
)

// incidentID names one firing of an alert and its resolution: receivers
// see the same id in the Fired and the Resolved notification (Azure's
// alertId, PagerDuty's dedup_key).
func incidentID(n alert.Notification) string {
	fired := n.Alert.ChangeID
	if n.Alert.State == alert.StateResolved {
		fired--
	}
	return fmt.Sprintf("genscope/alerts/%s/%d", n.Alert.ID, fired)
}

func condition(n alert.Notification) string {
	if n.Alert.State == alert.StateResolved {
		return "Resolved"
	}
	return "Fired"
}

func severity(n alert.Notification) string { return "Sev" + strconv.Itoa(n.Rule.Severity) }

var azureOperator = map[string]string{">": "GreaterThan", ">=": "GreaterThanOrEqual", "<": "LessThan", "<=": "LessThanOrEqual"}

var azureAgg = map[string]string{"": "Default", "avg": "Average", "min": "Minimum", "max": "Maximum", "total": "Total",
	"sum": "Total", "count": "Count", "p50": "P50", "p90": "P90", "p95": "P95", "p99": "P99"}

// isoDuration writes d as an ISO 8601 duration (PT5M, PT1H30M).
func isoDuration(d time.Duration) string {
	var b strings.Builder
	b.WriteString("PT")
	if h := int(d.Hours()); h > 0 {
		fmt.Fprintf(&b, "%dH", h)
	}
	if m := int(d.Minutes()) % 60; m > 0 {
		fmt.Fprintf(&b, "%dM", m)
	}
	if s := int(d.Seconds()) % 60; s > 0 || b.Len() == 2 {
		fmt.Fprintf(&b, "%dS", s)
	}
	return b.String()
}

func isoTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format("2006-01-02T15:04:05.0000000Z")
}

// dimensions are the rule's filters and split value, as Azure lists a
// metric alert's dimensions.
func dimensions(n alert.Notification) []map[string]string {
	out := []map[string]string{}
	f := n.Rule.Filters
	for _, kv := range [][2]string{{"project", f.Project}, {"service", f.Service}, {"provider", f.Provider},
		{"model", f.Model}, {"operation", f.Operation}, {"status", f.Status}} {
		if kv[1] != "" {
			out = append(out, map[string]string{"name": kv[0], "value": kv[1]})
		}
	}
	if n.Rule.SplitBy != "" {
		out = append(out, map[string]string{"name": n.Rule.SplitBy, "value": n.Alert.Key})
	}
	return out
}

// commonSchema is the notification in Azure Monitor's common alert
// schema (a metric alert), so receivers built for Azure understand it.
func commonSchema(n alert.Notification) map[string]any {
	r, a := n.Rule, n.Alert
	items := []string{cmpOr(r.Filters.Project, tenancy.DefaultProject)}
	if a.Key != "" {
		items = append(items, a.Key)
	}
	to := a.EvaluatedAt
	if to.IsZero() {
		to = a.ChangedAt
	}
	return map[string]any{
		"schemaId": "azureMonitorCommonAlertSchema",
		"data": map[string]any{
			"essentials": map[string]any{
				"alertId":             incidentID(n),
				"alertRule":           r.Name,
				"severity":            severity(n),
				"signalType":          "Metric",
				"monitorCondition":    condition(n),
				"monitoringService":   "genscope",
				"alertTargetIDs":      []string{"genscope/projects/" + cmpOr(r.Filters.Project, tenancy.DefaultProject)},
				"configurationItems":  items,
				"originAlertId":       n.ID,
				"firedDateTime":       isoTime(a.FiredAt),
				"resolvedDateTime":    isoTime(a.ResolvedAt),
				"description":         r.Description,
				"essentialsVersion":   "1.0",
				"alertContextVersion": "1.0",
			},
			"alertContext": map[string]any{
				"properties":    nil,
				"conditionType": "SingleResourceMultipleMetricCriteria",
				"condition": map[string]any{
					"windowSize": isoDuration(r.Window.D()),
					"allOf": []map[string]any{{
						"metricName":      r.Signal,
						"metricNamespace": "genscope",
						"operator":        azureOperator[r.Operator],
						"threshold":       strconv.FormatFloat(r.Threshold, 'g', -1, 64),
						"timeAggregation": azureAgg[r.Aggregation],
						"dimensions":      dimensions(n),
						"metricValue":     a.Value,
						"webTestName":     nil,
					}},
					"windowStartTime": isoTime(to.Add(-r.Window.D())),
					"windowEndTime":   isoTime(to),
				},
			},
			"customProperties": map[string]string{
				"ruleId": r.ID, "alertId": a.ID, "query": a.Query, "test": strconv.FormatBool(n.Test),
			},
		},
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// summary is the one-line text of a notification.
func summary(n alert.Notification) string {
	r, a := n.Rule, n.Alert
	var b strings.Builder
	if n.Test {
		b.WriteString("[TEST] ")
	}
	fmt.Fprintf(&b, "[%s] %s %s: %s(%s) = %s %s %s", strings.ToUpper(condition(n)), severity(n), r.Name,
		cmpOr(r.Aggregation, "value"), r.Signal, strconv.FormatFloat(a.Value, 'g', 6, 64), r.Operator,
		strconv.FormatFloat(r.Threshold, 'g', -1, 64))
	if a.State == alert.StateResolved {
		b.WriteString(" (no longer)")
	}
	if a.Key != "" {
		fmt.Fprintf(&b, " [%s=%s]", r.SplitBy, a.Key)
	}
	return b.String()
}

// facts are the details listed by Slack, Teams and email.
func facts(n alert.Notification) [][2]string {
	r, a := n.Rule, n.Alert
	out := [][2]string{
		{"Rule", r.Name}, {"Severity", severity(n)}, {"Condition", condition(n)},
		{"Signal", cmpOr(r.Aggregation, "default") + "(" + r.Signal + ") over " + r.Window.D().String()},
		{"Value", strconv.FormatFloat(a.Value, 'g', -1, 64)},
		{"Threshold", r.Operator + " " + strconv.FormatFloat(r.Threshold, 'g', -1, 64)},
	}
	if a.Key != "" {
		out = append(out, [2]string{r.SplitBy, a.Key})
	}
	if !a.FiredAt.IsZero() {
		out = append(out, [2]string{"Fired", a.FiredAt.UTC().Format(time.RFC3339)})
	}
	if !a.ResolvedAt.IsZero() {
		out = append(out, [2]string{"Resolved", a.ResolvedAt.UTC().Format(time.RFC3339)})
	}
	out = append(out, [2]string{"Query", a.Query})
	if r.Description != "" {
		out = append(out, [2]string{"Description", r.Description})
	}
	return out
}

func slackPayload(n alert.Notification) map[string]any {
	var b strings.Builder
	b.WriteString("*" + summary(n) + "*")
	for _, f := range facts(n) {
		fmt.Fprintf(&b, "\n• %s: %s", f[0], f[1])
	}
	return map[string]any{"text": b.String()}
}

// teamsPayload is an Adaptive Card message, as Teams workflow
// (Power Automate) webhooks and the older incoming webhooks take it.
func teamsPayload(n alert.Notification) map[string]any {
	fs := []map[string]string{}
	for _, f := range facts(n) {
		fs = append(fs, map[string]string{"title": f[0], "value": f[1]})
	}
	color := "Attention"
	if n.Alert.State == alert.StateResolved {
		color = "Good"
	}
	return map[string]any{
		"type": "message",
		"attachments": []map[string]any{{
			"contentType": "application/vnd.microsoft.card.adaptive",
			"contentUrl":  nil,
			"content": map[string]any{
				"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
				"type":    "AdaptiveCard",
				"version": "1.4",
				"body": []map[string]any{
					{"type": "TextBlock", "size": "Medium", "weight": "Bolder", "wrap": true, "color": color, "text": summary(n)},
					{"type": "FactSet", "facts": fs},
				},
			},
		}},
	}
}

var pdSeverity = []string{"critical", "error", "warning", "info", "info"}

// pagerDutyPayload is an Events API v2 event: trigger on fire, resolve on
// resolve, with the incident id as dedup_key.
func pagerDutyPayload(n alert.Notification, routingKey string) map[string]any {
	action := "trigger"
	if n.Alert.State == alert.StateResolved {
		action = "resolve"
	}
	details := map[string]string{}
	for _, f := range facts(n) {
		details[f[0]] = f[1]
	}
	ev := map[string]any{
		"routing_key":  routingKey,
		"event_action": action,
		"dedup_key":    incidentID(n),
	}
	if action == "trigger" {
		sev := "info"
		if s := n.Rule.Severity; s >= 0 && s < len(pdSeverity) {
			sev = pdSeverity[s]
		}
		ev["payload"] = map[string]any{
			"summary":        summary(n),
			"source":         "genscope",
			"severity":       sev,
			"timestamp":      n.Alert.FiredAt.UTC().Format(time.RFC3339),
			"component":      n.Alert.Key,
			"class":          n.Rule.Signal,
			"custom_details": details,
		}
	}
	return ev
}

// emailMessage is the mail (headers and body, CRLF line ends).
func emailMessage(n alert.Notification, from string, to []string, now time.Time) []byte {
	var b strings.Builder
	h := func(k, v string) {
		b.WriteString(k + ": " + strings.NewReplacer("\r", " ", "\n", " ").Replace(v) + "\r\n")
	}
	h("From", from)
	h("To", strings.Join(to, ", "))
	h("Subject", "[genscope] "+summary(n))
	h("Date", now.UTC().Format(time.RFC1123Z))
	h("Message-ID", "<"+strings.NewReplacer("/", ".", "#", ".").Replace(n.ID)+"."+strconv.FormatInt(now.UnixNano(), 36)+"@genscope>")
	h("MIME-Version", "1.0")
	h("Content-Type", "text/plain; charset=utf-8")
	b.WriteString("\r\n")
	b.WriteString(summary(n) + "\r\n\r\n")
	for _, f := range facts(n) {
		b.WriteString(strings.ReplaceAll(f[0]+": "+f[1], "\n", "\r\n") + "\r\n") // net/smtp dot-stuffs
	}
	return []byte(b.String())
}
