// Package alertcli is "genscope alerts": alert rules, alerts and action
// groups from a terminal, through a running server's API.
package alertcli
