// Package secret holds credentials read from the config file (API keys,
// webhook URLs, SMTP passwords, the admin token): a Secret redacts itself
// wherever it is printed, logged or marshalled, and Reveal hands the value
// to the one place that sends it.
package secret
