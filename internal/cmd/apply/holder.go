package apply

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
)

// defaultHolder names this run in the Lease: user@host/pid, then, where the
// platform tells it, what the process ID is unique within (see processScope).
func defaultHolder() string {
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	host, _ := os.Hostname()
	holder := fmt.Sprintf("%s@%s/%d", name, host, os.Getpid())
	if scope := processScope(); scope != "" {
		holder += " " + scope
	}
	return holder
}

// localHolderGone reports whether a holder named as defaultHolder names them
// was a process of this machine that no longer runs (killed, or its machine
// restarted): nothing renews its lock, and waiting for it to expire only
// delays the rerun.
//
// A host name alone does not make a process this machine's: two containers
// can share one (a host-network pod, docker run --hostname), each with its
// own process IDs, and two laptops can be named alike. So the holder must
// also name the same process scope as this process, and a platform that
// cannot tell its scope never judges another holder gone: its lock is taken
// over when it expires.
func localHolderGone(holder string) bool {
	scope := processScope()
	if scope == "" {
		return false
	}
	id, theirs, _ := strings.Cut(holder, " ")
	at := strings.LastIndex(id, "@")
	slash := strings.LastIndex(id, "/")
	if at < 0 || slash < at || theirs != scope {
		return false
	}
	host, _ := os.Hostname()
	pid, err := strconv.Atoi(id[slash+1:])
	if err != nil || pid <= 0 || id[at+1:slash] != host {
		return false
	}
	return processGone(pid)
}
