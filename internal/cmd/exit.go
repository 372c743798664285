package cmd

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"syscall"

	"github.com/capi-planner/capi-planner/internal/cmd/plan"
	"github.com/capi-planner/capi-planner/upgrade"
)

// Exit codes, all of them; docs/usage.md ("Exit codes") documents each.
const (
	// ExitOK: every selected Cluster has a plan (Planned, Blocked or UpToDate).
	ExitOK = 0
	// ExitError: bad input, command or flags, or a Cluster's upgrade would be rejected or needs more input.
	ExitError = 1
	// ExitChanges: with --detailed-exitcode, an upgrade is planned (as Terraform's plan -detailed-exitcode).
	ExitChanges = 2
	// ExitPolicy: the plans are valid but break --fail-on (returned by the plan command).
	ExitPolicy = 3
	// ExitTimeout: apply gave up waiting for a step (--timeout); the upgrade goes on in the cluster.
	ExitTimeout = 4
	// ExitInterrupted and ExitTerminated: stopped by SIGINT (Ctrl-C) or SIGTERM, 128 + the signal's number as shells report it.
	ExitInterrupted = 130
	ExitTerminated  = 143
)

// Interrupted is the cause of a context canceled by a signal.
type Interrupted struct{ Signal os.Signal }

func (i *Interrupted) Error() string {
	return "interrupted by " + signalName(i.Signal)
}

func signalName(s os.Signal) string {
	if s == syscall.SIGTERM {
		return "SIGTERM"
	}
	return "SIGINT"
}

// NotifyContext returns a context canceled, with an *Interrupted cause, by the
// first SIGINT or SIGTERM. After that first signal the default handling is
// restored, so that a second one ends the process at once.
func NotifyContext(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(parent)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		select {
		case s := <-sigs:
			signal.Reset(os.Interrupt, syscall.SIGTERM)
			cancel(&Interrupted{Signal: s})
		case <-ctx.Done():
		}
	}()
	return ctx, func() {
		signal.Stop(sigs)
		cancel(context.Canceled)
	}
}

// exitCode maps the outcome of a run to a process exit code, and says whether
// err still has to be reported (commands report rejections and policy
// violations themselves).
func exitCode(ctx context.Context, err error) (code int, report error) {
	var (
		interrupted *Interrupted
		rejected    *plan.RejectedError
		policy      *plan.PolicyError
		changes     *plan.ChangesError
		timeout     *upgrade.TimeoutError
	)
	switch {
	case errors.As(context.Cause(ctx), &interrupted):
		if interrupted.Signal == syscall.SIGTERM {
			return ExitTerminated, interrupted
		}
		return ExitInterrupted, interrupted
	case err == nil:
		return ExitOK, nil
	case errors.As(err, &policy):
		return ExitPolicy, nil
	case errors.As(err, &changes):
		return ExitChanges, nil
	case errors.As(err, &rejected):
		return ExitError, nil
	case errors.As(err, &timeout):
		return ExitTimeout, err
	}
	return ExitError, err
}
