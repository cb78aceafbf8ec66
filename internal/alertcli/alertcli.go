package alertcli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"
)

const usage = `genscope alerts COMMAND [--server URL]

  list                 the alert rules with their state, then the fired and resolved alerts
  get RULE_ID          one rule, as JSON
  evaluate RULE_ID     evaluate a rule now: its value and state (notifies when the state changes)
  history [RULE_ID]    the latest state changes
  groups               the action groups
  fire-test GROUP_ID   send a test notification to every receiver of an action group

With auth on, set GENSCOPE_TOKEN to the admin token, a read key or a user token
(an editor's or admin's for evaluate and fire-test).
`

// Main runs "genscope alerts ARGS".
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("alerts: want a command")
	}
	cmd := args[0]
	fs := flag.NewFlagSet("alerts "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	server := fs.String("server", "http://127.0.0.1:4318", "genscope server")
	project := fs.String("project", "", "project, when auth is on and the token reads several")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	c := client{base: strings.TrimRight(*server, "/"), http: &http.Client{Timeout: 2 * time.Minute},
		token: os.Getenv("GENSCOPE_TOKEN"), project: *project}
	arg := func() (string, error) {
		if fs.NArg() != 1 {
			return "", fmt.Errorf("alerts %s: want one id", cmd)
		}
		return url.PathEscape(fs.Arg(0)), nil
	}
	switch cmd {
	case "list":
		return c.list(ctx, stdout)
	case "get":
		id, err := arg()
		if err != nil {
			return err
		}
		return c.print(ctx, "GET", "/api/v1/alert-rules/"+id, stdout)
	case "evaluate":
		id, err := arg()
		if err != nil {
			return err
		}
		return c.evaluate(ctx, id, stdout)
	case "history":
		return c.history(ctx, fs.Arg(0), stdout)
	case "groups":
		return c.print(ctx, "GET", "/api/v1/action-groups", stdout)
	case "fire-test":
		id, err := arg()
		if err != nil {
			return err
		}
		return c.fireTest(ctx, id, stdout)
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("alerts: unknown command %q", cmd)
	}
}

// evaluate prints what rule id evaluates to now.
func (c client) evaluate(ctx context.Context, id string, stdout io.Writer) error {
	var res struct {
		Value  *float64 `json:"value"`
		State  string   `json:"state"`
		Query  string   `json:"query"`
		Alerts []struct {
			Key, State string
			Value      float64
			HasValue   bool `json:"has_value"`
		} `json:"alerts"`
	}
	if err := c.do(ctx, "POST", "/api/v1/alert-rules/"+id+"/evaluate", &res); err != nil {
		return err
	}
	v := "no data"
	if res.Value != nil {
		v = fmt.Sprint(*res.Value)
	}
	fmt.Fprintf(stdout, "state: %s\nvalue: %s\nquery: %s\n", res.State, v, res.Query)
	for _, a := range res.Alerts {
		if a.Key != "" {
			fmt.Fprintf(stdout, "  %s: %s (%v)\n", a.Key, a.State, a.Value)
		}
	}
	return nil
}

// history prints the latest alert state changes, of rule ruleID when set.
func (c client) history(ctx context.Context, ruleID string, stdout io.Writer) error {
	q := "/api/v1/alerts/history?limit=50"
	if ruleID != "" {
		q += "&rule_id=" + url.QueryEscape(ruleID)
	}
	var h struct {
		History []struct {
			Time                    time.Time
			RuleName                string `json:"rule_name"`
			Key, From, To, Operator string
			Value, Threshold        float64
		}
	}
	if err := c.do(ctx, "GET", q, &h); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tRULE\tKEY\tCHANGE\tVALUE")
	for _, e := range h.History {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s -> %s\t%v %s %v\n", e.Time.Local().Format(time.DateTime), e.RuleName, e.Key, e.From, e.To, e.Value, e.Operator, e.Threshold)
	}
	return tw.Flush()
}

// fireTest sends action group id's test notification and prints each
// receiver's outcome.
func (c client) fireTest(ctx context.Context, id string, stdout io.Writer) error {
	var res struct {
		OK      bool `json:"ok"`
		Results []struct {
			Receiver int    `json:"receiver"`
			Type     string `json:"type"`
			Attempt  struct {
				OK         bool    `json:"ok"`
				HTTPStatus int     `json:"http_status"`
				Error      string  `json:"error"`
				DurationMS float64 `json:"duration_ms"`
			} `json:"attempt"`
		} `json:"results"`
	}
	if err := c.do(ctx, "POST", "/api/v1/action-groups/"+id+"/test", &res); err != nil {
		return err
	}
	for _, r := range res.Results {
		outcome := "ok"
		if !r.Attempt.OK {
			outcome = "FAILED: " + r.Attempt.Error
		}
		fmt.Fprintf(stdout, "receiver %d (%s): %s in %.0f ms\n", r.Receiver, r.Type, outcome, r.Attempt.DurationMS)
	}
	if !res.OK {
		return errors.New("alerts fire-test: some receivers failed")
	}
	return nil
}

type client struct {
	base string
	http *http.Client
	// token (GENSCOPE_TOKEN: the admin token, a read key or a user token)
	// is sent when auth is on.
	token   string
	project string
}

func (c client) raw(ctx context.Context, method, path string) ([]byte, error) {
	if c.project != "" {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		path += sep + "project=" + url.QueryEscape(c.project)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, nil)
	if err != nil {
		return nil, err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		var e struct{ Error string }
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			return nil, fmt.Errorf("%s %s: %s", method, path, e.Error)
		}
		return nil, fmt.Errorf("%s %s: HTTP %d", method, path, resp.StatusCode)
	}
	return b, nil
}

func (c client) do(ctx context.Context, method, path string, out any) error {
	b, err := c.raw(ctx, method, path)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}

func (c client) print(ctx context.Context, method, path string, w io.Writer) error {
	b, err := c.raw(ctx, method, path)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, b, "", "  "); err != nil {
		return err
	}
	_, err = buf.WriteTo(w)
	return err
}

func (c client) list(ctx context.Context, w io.Writer) error {
	var rules struct {
		Rules []struct {
			ID, Name, State, Signal, Aggregation, Operator string
			Threshold                                      float64
			Window, Frequency                              string
			Severity                                       int
			Enabled                                        bool
			ReadOnly                                       bool   `json:"read_only"`
			SplitBy                                        string `json:"split_by"`
		}
	}
	if err := c.do(ctx, "GET", "/api/v1/alert-rules", &rules); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tSTATE\tSEV\tCONDITION\tWINDOW\tEVERY\tNOTES")
	for _, r := range rules.Rules {
		var notes []string
		if !r.Enabled {
			notes = append(notes, "disabled")
		}
		if r.ReadOnly {
			notes = append(notes, "config")
		}
		if r.SplitBy != "" {
			notes = append(notes, "by "+r.SplitBy)
		}
		agg := r.Aggregation
		if agg == "" {
			agg = "default"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s(%s) %s %v\t%s\t%s\t%s\n", r.ID, r.Name, r.State, r.Severity, agg, r.Signal,
			r.Operator, r.Threshold, r.Window, r.Frequency, strings.Join(notes, ", "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var alerts struct {
		Alerts []struct {
			ID, State, Key string
			RuleName       string    `json:"rule_name"`
			Value          float64   `json:"value"`
			ChangedAt      time.Time `json:"changed_at"`
		}
	}
	if err := c.do(ctx, "GET", "/api/v1/alerts", &alerts); err != nil {
		return err
	}
	if len(alerts.Alerts) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ALERT\tRULE\tKEY\tSTATE\tVALUE\tSINCE")
	for _, a := range alerts.Alerts {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\t%s\n", a.ID, a.RuleName, a.Key, a.State, a.Value, a.ChangedAt.Local().Format(time.DateTime))
	}
	return tw.Flush()
}
