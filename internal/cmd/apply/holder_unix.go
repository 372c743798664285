//go:build unix

package apply

import (
	"errors"
	"syscall"
)

// processGone reports whether no process of this scope has that ID.
func processGone(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}
