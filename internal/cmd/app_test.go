package cmd

import (
	"slices"
	"strings"
	"testing"

	"github.com/capi-planner/capi-planner/internal/iostreams"
)

func TestHoistKubectlFlags(t *testing.T) {
	tests := []struct{ in, want string }{
		{"kubectl-capi_planner --context prod -n team-a plan --to v1.36", "kubectl-capi_planner plan --context prod -n team-a --to v1.36"},
		{"kubectl-capi_planner --kubeconfig=/k -A -v plan", "kubectl-capi_planner plan --kubeconfig=/k -A -v"},
		{"kubectl-capi_planner plan --context prod", "kubectl-capi_planner plan --context prod"},
		{"kubectl-capi_planner --context prod", "kubectl-capi_planner --context prod"},
		{"kubectl-capi_planner --help", "kubectl-capi_planner --help"},
		{"kubectl-capi_planner --unknown x plan", "kubectl-capi_planner --unknown x plan"},
	}
	for _, tt := range tests {
		if got := hoistKubectlFlags(strings.Fields(tt.in)); !slices.Equal(got, strings.Fields(tt.want)) {
			t.Errorf("%q: got %q", tt.in, strings.Join(got, " "))
		}
	}
}

func TestFlagsFirst(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	app := newApp(ios, "capi-planner")
	tests := []struct{ in, want string }{
		{"capi-planner apply p.json --yes -o json", "capi-planner apply --yes -o json -- p.json"},
		{"capi-planner apply --kubeconfig k p.json --dry-run=server", "capi-planner apply --kubeconfig k --dry-run=server -- p.json"},
		{"capi-planner apply p.json --until v1.35.2 -y", "capi-planner apply --until v1.35.2 -y -- p.json"},
		{"capi-planner apply -- --odd-name.json", "capi-planner apply -- --odd-name.json"},
		{"capi-planner plan --to v1.36", "capi-planner plan --to v1.36"},
		{"capi-planner nosuch x --y", "capi-planner nosuch x --y"},
	}
	for _, tt := range tests {
		if got := flagsFirst(app, strings.Fields(tt.in)); !slices.Equal(got, strings.Fields(tt.want)) {
			t.Errorf("%q: got %q", tt.in, strings.Join(got, " "))
		}
	}
	if got := commandOf(strings.Fields("capi-planner -v apply p.json")); got != "apply" {
		t.Errorf("commandOf: %q", got)
	}
}
