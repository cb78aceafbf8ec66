package app

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// nodeClient runs `node script` in test/<client> (a real npm client pinned by
// its lockfile) with env added to the environment, and returns what it
// printed on standard output; a failure ends the test with both outputs.
// Without node or the client's node_modules the test is skipped, and fails
// under CI, where make test installs them.
func nodeClient(t *testing.T, client, script string, timeout time.Duration, env ...string) []byte {
	t.Helper()
	dir, _ := filepath.Abs(filepath.Join("../../test", client))
	node, err := exec.LookPath("node")
	if _, serr := os.Stat(filepath.Join(dir, "node_modules")); err != nil || serr != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("node (%v) and %s/node_modules (%v) are needed: make test installs them", err, dir, serr)
		}
		t.Skipf("node or test/%s/node_modules missing (run npm ci there)", client)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			stderr = ee.Stderr
		}
		t.Fatalf("node %s/%s: %v\n%s\n%s", client, script, err, out, stderr)
	}
	return out
}
