package apply

import (
	"fmt"
	"os"
	"strings"
)

// processScope names what this process's ID is unique within: its PID
// namespace and the kernel's boot (two containers on one host share the
// boot, not the namespace); "" when /proc does not tell.
func processScope() string {
	ns, err := os.Readlink("/proc/self/ns/pid") // pid:[4026531836]
	boot, bootErr := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil || bootErr != nil || !strings.HasPrefix(ns, "pid:[") || len(strings.TrimSpace(string(boot))) < 8 {
		return ""
	}
	return fmt.Sprintf("pidns:%s boot:%.8s", strings.TrimSuffix(strings.TrimPrefix(ns, "pid:["), "]"), strings.TrimSpace(string(boot)))
}
