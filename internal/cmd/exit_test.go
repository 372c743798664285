package cmd

import (
	"context"
	"strings"
	"syscall"
	"testing"

	"github.com/capi-planner/capi-planner/internal/iostreams"
)

// A run canceled by a signal exits 128 + the signal, says so, and writes no plan.
func TestMainInterrupted(t *testing.T) {
	for sig, want := range map[syscall.Signal]int{syscall.SIGINT: ExitInterrupted, syscall.SIGTERM: ExitTerminated} {
		ctx, cancel := context.WithCancelCause(t.Context())
		cancel(&Interrupted{Signal: sig})
		ios, _, out, errOut := iostreams.Test()
		code := Main(ctx, []string{"capi-planner", "plan", "-f", "../../fixtures/topology-versions", "--to", "v1.36.3"}, ios)
		if code != want || out.Len() > 0 || !strings.Contains(errOut.String(), "error: interrupted by "+signalName(sig)) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", sig, code, out, errOut)
		}
	}
}

// An unknown command is exit 1 with the usage, not the --fail-on code.
func TestMainUnknownCommand(t *testing.T) {
	ios, _, _, errOut := iostreams.Test()
	if code := Main(t.Context(), []string{"capi-planner", "pln"}, ios); code != ExitError || !strings.Contains(errOut.String(), "error: unknown command \"pln\"\nusage: capi-planner") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}
