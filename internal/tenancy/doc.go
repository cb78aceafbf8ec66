// Package tenancy is genscope's projects: the tenants whose telemetry,
// keys and members are their own, and each project's policy — what is
// captured of message content (full, metadata or redacted, with extra
// patterns to mask) and how long spans and their content are kept.
//
// A Registry holds the projects in memory, written through to the
// store's documents (kind "auth.project", the kind they have always been
// stored under), with the config file's projects over them, read-only.
// DefaultProject always exists: everything goes to it and is read from it
// while authentication is off.
//
// Who may do what to a project is package auth's business (identities,
// credentials, roles); the privacy package applies the capture policy to
// records, and the app's retention loop applies the retention policy.
package tenancy
