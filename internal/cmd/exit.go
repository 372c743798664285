package cmd

import "errors"

// Exit codes, documented in docs/exit-codes.md.
const (
	// ExitOK: every selected Cluster has a plan (Planned, Blocked or UpToDate).
	ExitOK = 0
	// ExitError: bad input or flags, or a Cluster's upgrade would be rejected or needs more input.
	ExitError = 1
	// ExitPolicy: the plans are valid but break --fail-on (returned by the plan command).
	ExitPolicy = 3
)

// exitCoder is an error that has already been reported and carries its exit code.
type exitCoder interface{ ExitCode() int }

// exitCode maps a command error to a process exit code.
func exitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var ec exitCoder
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	return ExitError
}
