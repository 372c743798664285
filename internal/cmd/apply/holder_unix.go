//go:build unix

package apply

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// localHolderGone reports whether a holder named as defaultHolder names them
// was a process of this machine that no longer runs (killed, or its machine
// restarted): nothing renews its lock, and waiting for it to expire only
// delays the rerun.
func localHolderGone(holder string) bool {
	at := strings.LastIndex(holder, "@")
	slash := strings.LastIndex(holder, "/")
	if at < 0 || slash < at {
		return false
	}
	host, _ := os.Hostname()
	pid, err := strconv.Atoi(holder[slash+1:])
	if err != nil || pid <= 0 || holder[at+1:slash] != host {
		return false
	}
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}
