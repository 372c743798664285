//go:build darwin || dragonfly || freebsd || netbsd || openbsd

package apply

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// processScope names what this process's ID is unique within: the machine's
// boot, by its time (kern.boottime); "" when sysctl does not tell.
func processScope() string {
	tv, err := unix.SysctlTimeval("kern.boottime")
	if err != nil || tv.Sec == 0 {
		return ""
	}
	return fmt.Sprintf("boot:%d.%06d", tv.Sec, tv.Usec)
}
