//go:build unix

package app

import (
	"errors"
	"os"
	"syscall"
)

// errLocked is lockFile's answer when another holder has the lock.
var errLocked = errors.New("locked")

// lockFile takes an exclusive advisory lock on f without waiting. flock
// locks belong to the open file, so a second open in the same process
// conflicts too; the lock goes with the process.
func lockFile(f *os.File) error {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return errLocked
	}
	return err
}
