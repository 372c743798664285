package upgrade

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/capi-planner/capi-planner/planner"
)

func etaStep(n int, kind planner.StepKind, estimate int64, moves int) planner.Step {
	s := planner.Step{Number: n, Kind: kind, Machines: &planner.MachineCounts{Created: moves}}
	if estimate >= 0 {
		s.Duration = &planner.Estimate{Seconds: estimate}
	}
	return s
}

func TestPacingRemaining(t *testing.T) {
	cp, workers := planner.StepControlPlane, planner.StepWorkers
	type watched struct {
		step planner.Step
		took time.Duration
	}
	for _, tc := range []struct {
		name    string
		watched []watched
		left    []planner.Step
		want    int64 // -1: no estimate
		basis   []string
	}{
		{"nothing watched yet: the plan's estimates", nil,
			[]planner.Step{etaStep(1, cp, 30, 1), etaStep(2, workers, 20, 1)}, 50, []string{"step 1 30s as planned", "step 2 20s as planned"}},
		{"a control plane step twice as long scales both kinds until workers run",
			[]watched{{etaStep(1, cp, 30, 1), time.Minute}},
			[]planner.Step{etaStep(2, workers, 20, 1), etaStep(3, cp, 30, 1)}, 100,
			[]string{"step 2 40s (planned 20s, times 2.00 as for steps 1 (none of its kind has run yet))", "step 3 1m0s (planned 30s, times 2.00 as for its steps 1)"}},
		{"each kind by its own steps",
			[]watched{{etaStep(1, cp, 30, 1), time.Minute}, {etaStep(2, workers, 20, 1), 10 * time.Second}},
			[]planner.Step{etaStep(3, cp, 30, 1), etaStep(4, workers, 20, 1)}, 70,
			[]string{"times 2.00 as for its steps 1)", "step 4 10s (planned 20s, times 0.50 as for its steps 2)"}},
		{"over several steps of a kind, the sums",
			[]watched{{etaStep(1, cp, 30, 1), 30 * time.Second}, {etaStep(3, cp, 10, 1), 50 * time.Second}},
			[]planner.Step{etaStep(5, cp, 20, 1)}, 40, []string{"times 2.00 as for its steps 1, 3"}},
		{"a step without an estimate, before one of its kind has run", nil,
			[]planner.Step{etaStep(1, cp, -1, 1)}, -1, nil},
		{"a step without an estimate, after one of its kind has run",
			[]watched{{etaStep(1, cp, -1, 1), 40 * time.Second}, {etaStep(2, cp, -1, 1), 20 * time.Second}},
			[]planner.Step{etaStep(3, cp, -1, 1)}, 30, []string{"step 3 30s (no estimate: as long as its steps 1, 2 took on average)"}},
		{"steps that move no Machine are left out", nil,
			[]planner.Step{etaStep(1, workers, -1, 0), etaStep(2, cp, 30, 1)}, 30, []string{"step 2 30s as planned"}},
		{"nothing left", []watched{{etaStep(1, cp, 30, 1), time.Minute}}, nil, -1, nil},
		{"saturated, not overflowed", nil,
			[]planner.Step{etaStep(1, cp, math.MaxInt64, 1), etaStep(2, cp, math.MaxInt64, 1)}, math.MaxInt64, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPacing()
			for _, w := range tc.watched {
				p.observe(w.step, w.took)
			}
			got := p.remaining(tc.left)
			if tc.want < 0 {
				if got != nil {
					t.Fatalf("got %+v, want no estimate", got)
				}
				return
			}
			if got == nil || got.Seconds != tc.want {
				t.Fatalf("got %+v, want %d seconds", got, tc.want)
			}
			for _, b := range tc.basis {
				if !strings.Contains(got.Basis, b) {
					t.Errorf("basis %q lacks %q", got.Basis, b)
				}
			}
		})
	}
}
