// Package notify delivers alert notifications through action groups:
// named sets of receivers — email (SMTP with STARTTLS and AUTH), a
// generic webhook (Azure Monitor's common alert schema, optionally signed
// with HMAC-SHA256 in X-Genscope-Signature), Slack and Microsoft Teams
// incoming webhooks, and PagerDuty Events API v2 (trigger and resolve
// with a dedup key).
//
// Delivery: Notify writes one log entry per receiver (pending) and
// returns; each delivery is then tried in the background up to Attempts
// times with exponential backoff, every attempt bounded by AttemptTimeout
// and recorded (time, duration, HTTP status, error). 4xx answers (but
// 408 and 429) and forbidden targets fail at once. A slow or failing
// receiver holds only its own delivery: Notify never waits for one, and
// at most MaxConcurrent sends run at once.
//
// Once, across restarts: the log is keyed by (notification id, action
// group, receiver) and written before the first attempt, so a state
// change handed over again (after a restart) is not sent again, and a
// delivery a shutdown interrupted resumes at the next Start. Delivery is
// at least once: a process killed after a receiver accepted a request but
// before the log says sent resends that one request after the restart.
// Receivers can drop such a repeat by X-Genscope-Delivery (webhooks), the
// alertId (common schema) or the dedup_key (PagerDuty).
//
// Access: every route is registered with the permission it needs, which
// Options.AccessFor (an Access the app builds from the request's
// principal) grants or not: listing groups, or managing them and reading
// the notification log.
//
// Safety: receiver URLs are checked when saved and every address is
// checked again when dialed (a net.Dialer Control), so a name that
// resolves to a forbidden address is refused too: link-local
// (169.254.0.0/16, fe80::/10) and cloud metadata addresses and names
// always, private and loopback addresses unless
// notify.allow_private_targets — also through IPv6 forms that embed such
// an IPv4 address (internal/netguard classifies them). URLs with
// credentials (user:pass@) are refused. No proxy, no redirects. Secrets (URLs,
// HMAC secrets, routing keys, the SMTP password) are secret.Secret values:
// redacted in API answers and logs; errors never carry the URL.
package notify
