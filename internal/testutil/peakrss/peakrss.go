// Package peakrss measures the peak resident memory of a command.
//
// A child that a Go program starts reports in its ru_maxrss at least the
// parent's own peak: Go starts children with vfork (CLONE_VM), and Linux
// records the shared address space's high-water mark when the child execs. A
// benchmark that has just planned a fleet would report its own peak as the
// command's. So the command is started from a fresh copy of the test binary,
// which is small when it starts it, and which reports the command's ru_maxrss.
package peakrss

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
)

// env carries the command to the measuring copy, as JSON.
const env = "CAPI_PLANNER_PEAKRSS_COMMAND"

// Main runs the command and exits when this process is the measuring copy;
// otherwise it returns. Call it first in TestMain.
func Main() {
	spec := os.Getenv(env)
	if spec == "" {
		return
	}
	var argv []string
	if err := json.Unmarshal([]byte(spec), &argv); err != nil || len(argv) == 0 {
		fmt.Fprintf(os.Stderr, "peakrss: bad %s: %q\n", env, spec)
		os.Exit(2)
	}
	// Its output is not the benchmark's: the exit code says how it ended.
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = os.Environ()
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		fmt.Fprintf(os.Stderr, "peakrss: %v\n", err)
		os.Exit(2)
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		fmt.Fprintln(os.Stderr, "peakrss: no resource usage on this platform")
		os.Exit(2)
	}
	fmt.Printf("%d %d\n", ru.Maxrss, cmd.ProcessState.ExitCode()) // kilobytes on Linux
	os.Exit(0)
}

// Run runs the command through a measuring copy of this test binary and
// returns its peak resident memory in bytes and its exit code. Its output is
// discarded.
func Run(name string, args ...string) (peak int64, code int, err error) {
	spec, err := json.Marshal(append([]string{name}, args...))
	if err != nil {
		return 0, 0, err
	}
	self := exec.Command(os.Args[0])
	self.Env = append(os.Environ(), env+"="+string(spec))
	self.Stderr = os.Stderr
	out, err := self.Output()
	if err != nil {
		return 0, 0, fmt.Errorf("measuring %s: %w", name, err)
	}
	var kb int64
	if _, err := fmt.Sscanf(string(out), "%d %d", &kb, &code); err != nil {
		return 0, 0, fmt.Errorf("measuring %s: unexpected report %q", name, out)
	}
	return kb << 10, code, nil
}
