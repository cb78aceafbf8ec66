// Package jsonhttp writes genscope's JSON answers: the query API, the
// management endpoints (auth, alert rules, action groups), the gateway's
// own answers and errors, and the Application Insights ingestion answers.
// Every answer is written whole, with its length, and is never cached.
package jsonhttp
