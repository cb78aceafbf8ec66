// Package notifytest runs real receivers on loopback for tests: an SMTP
// server (go-smtp) that keeps the mail it gets, and a webhook endpoint
// that keeps the requests it gets and can be told to fail or hang.
package notifytest
