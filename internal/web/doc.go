// Package web serves the dashboard: the front end built from web/ into
// dist/ (by "make build") and embedded in the binary, with hashed asset
// names cached for a year, precompressed gzip copies, and a Content
// Security Policy that allows nothing outside genscope.
package web
