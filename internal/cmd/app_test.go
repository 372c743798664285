package cmd

import (
	"slices"
	"strings"
	"testing"
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
