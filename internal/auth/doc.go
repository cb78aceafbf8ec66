// Package auth is genscope's access control: who a request is and what
// it may do. It keeps identities and credentials — API keys per project
// (ingest, read, gateway,
// Application Insights instrumentation keys), local users with roles per
// project and a separate permission to see message content, browser
// sessions with CSRF protection, and the HTTP endpoints that manage them.
//
// Secrets and how they are kept:
//
//   - Keys and tokens are 32 random bytes from crypto/rand, base64url
//     encoded behind a recognisable prefix (gsk_ for keys, gsu_ for user
//     tokens), so secret scanners and genscope's own redactor spot them.
//     Only their SHA-256 is stored. A fast hash is right here: the input
//     has 256 bits of entropy, so there is nothing to brute-force, and a
//     slow hash would put a bcrypt on every ingest request. The key is
//     shown once, when created; afterwards it is listed by id and a short
//     display prefix, and can be revoked.
//   - Application Insights instrumentation keys are random (version 4)
//     UUIDs, 122 random bits, also stored as SHA-256 only.
//   - Passwords are hashed with bcrypt (cost 12 by default): they are
//     low-entropy and need a slow hash. A login for an unknown user still
//     runs one bcrypt comparison, so timing does not tell which users exist.
//   - Sessions are 32 random bytes in an HttpOnly, SameSite=Lax cookie
//     (Secure when served over TLS); the server keeps their SHA-256 and an
//     expiry.
//   - The admin token comes from the config (usually ${GENSCOPE_ADMIN_TOKEN})
//     and is compared in constant time.
//   - The one-time setup token (gss_…, setup.go), printed in a link at
//     start-up while no user exists, is kept in memory as its SHA-256 only
//     and is used up by the first user created, however created.
//
// No secret is logged, returned in an error, or stored in clear.
//
// CSRF: a state-changing request (anything but GET, HEAD and OPTIONS)
// authenticated by the session cookie must carry the header
// X-CSRF-Token with the session's CSRF token (returned by login and by
// GET /api/v1/me, and set in the readable genscope_csrf cookie: the
// double-submit pattern; the token is derived from the session secret, so
// another site can neither read nor forge it), and an Origin header, when
// present, must name the request's own host. Requests authenticated by a
// bearer token are not exposed to CSRF (browsers never add the header by
// themselves) and skip the check.
//
// The projects themselves, with their content policy and retention, are
// package tenancy's; auth checks that a key's or grant's project exists
// and serves the projects' endpoints, guarded by the principal's role.
//
// State (keys, users, sessions) is small; it is loaded into
// memory at start and written through to a store.DocStore (the store's state_docs
// table, DuckDB or ClickHouse), so a lookup on the ingest path is a map access.
package auth
