// Package config holds genscope's configuration: Default, Load (strict
// YAML with ${VAR} expansion) and Validate, which reports every problem
// with its field path.
package config
