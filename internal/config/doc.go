// Package config holds genscope's configuration: Default, Load (strict
// YAML with ${VAR} expansion) and Validate, which reports every problem
// with its field path.
//
// It assembles the components' settings: where a component owns its
// configuration type (notify's action groups, receivers and SMTP;
// gateway's Config, deployments and upstream policy; the one
// duration type of timeutil; the credential type of secret), config
// names it (a type alias) under its YAML path and validates it through
// the component's own checks, prefixed with that path.
package config
