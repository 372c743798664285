package cmd

import (
	"strings"
	"testing"

	"github.com/capi-planner/capi-planner/internal/iostreams"
)

// FuzzPlanFlags feeds arbitrary flags to the plan command of a fixture: it may
// refuse them, never panic, and a refusal is exit 1 with one error line.
// (Plan only reads -f here, so no flag can reach a cluster or write a file.)
func FuzzPlanFlags(f *testing.F) {
	for _, seed := range [][2]string{
		{"--to", "v1.36.3"}, {"--to", ""}, {"--to=", "latest"}, {"--fail-on", "replace:x"}, {"-o", "json"},
		{"--versions", "v1.36.3,,"}, {"--max-document-size", "1Ki"}, {"--cluster", "a/b/c"}, {"pln", "-x"},
		{"--feature-gates", "A=true,="}, {"-l", "a in ("}, {"--assume-extension-covers", "spec"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		ios, _, _, errOut := iostreams.Test()
		args := []string{"capi-planner", "plan", "-f", "../../fixtures/topology-versions", "--versions", "v1.33.4,v1.34.3,v1.35.2,v1.36.3", a, b}
		code := Main(t.Context(), args, ios)
		switch code {
		case ExitOK, ExitPolicy:
		case ExitError:
			if n := strings.Count(errOut.String(), "error: "); n < 1 {
				t.Errorf("exit 1 without an error line for %q %q:\n%s", a, b, errOut)
			}
		default:
			t.Errorf("exit code %d for %q %q", code, a, b)
		}
	})
}
