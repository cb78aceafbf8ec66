//go:build !unix

package app

import (
	"errors"
	"os"
)

var errLocked = errors.New("locked")

// lockFile does nothing where flock is missing: DuckDB's own lock on its
// file still refuses a second process.
func lockFile(*os.File) error { return nil }
