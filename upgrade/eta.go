package upgrade

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/capi-planner/capi-planner/planner"
)

// pacing re-estimates the steps left from the steps this run has watched.
//
// The plan's estimates rest on the Cluster's past Machines, which do not show
// everything a step waits for: the load on the controllers and on the
// infrastructure now, the deletion of old Machines, the checks between two
// Machines, the hooks. A step watched from its start shows all of it. So each
// kind of step (control plane, workers) left is scaled by how long this run's
// steps of that kind took against their estimates, or, before one has run, by
// the other kind's.
type pacing struct {
	kinds map[planner.StepKind]*kindPace
}

// kindPace adds up the watched steps of one kind.
type kindPace struct {
	steps []int
	// took and estimated are over the steps that had an estimate; tookAll over all.
	took, estimated, tookAll time.Duration
}

func newPacing() *pacing { return &pacing{kinds: map[planner.StepKind]*kindPace{}} }

// observe records that a step watched from its start took this long.
func (p *pacing) observe(s planner.Step, took time.Duration) {
	k := p.kinds[s.Kind]
	if k == nil {
		k = &kindPace{}
		p.kinds[s.Kind] = k
	}
	k.steps = append(k.steps, s.Number)
	k.tookAll += took
	if s.Duration != nil && s.Duration.Seconds > 0 {
		k.took += took
		k.estimated += time.Duration(s.Duration.Seconds) * time.Second
	}
}

// factor is how much longer than estimated the watched steps of a kind took,
// or of any kind when none of this kind has run.
func (p *pacing) factor(kind planner.StepKind) (float64, string) {
	if k := p.kinds[kind]; k != nil && k.estimated > 0 {
		return k.took.Seconds() / k.estimated.Seconds(), fmt.Sprintf("its steps %s", numbers(k.steps))
	}
	var took, estimated time.Duration
	var steps []int
	for _, k := range p.kinds {
		if k.estimated > 0 {
			took, estimated, steps = took+k.took, estimated+k.estimated, append(steps, k.steps...)
		}
	}
	if estimated == 0 {
		return 1, ""
	}
	return took.Seconds() / estimated.Seconds(), fmt.Sprintf("steps %s (none of its kind has run yet)", numbers(steps))
}

// remaining estimates the steps left, nil when one of them cannot be: it
// moves Machines, has no estimate, and no step of its kind has run.
func (p *pacing) remaining(left []planner.Step) *planner.Estimate {
	var seconds float64
	var parts []string
	for _, s := range left {
		var d float64
		switch k := p.kinds[s.Kind]; {
		case s.Duration != nil:
			f, from := p.factor(s.Kind)
			d = f * float64(s.Duration.Seconds)
			if from == "" {
				parts = append(parts, fmt.Sprintf("step %d %s as planned", s.Number, secs(d)))
			} else {
				parts = append(parts, fmt.Sprintf("step %d %s (planned %s, times %.2f as for %s)", s.Number, secs(d), secs(float64(s.Duration.Seconds)), f, from))
			}
		case s.Machines == nil || s.Machines.Created+s.Machines.UpdatedInPlace == 0:
			continue
		case k != nil:
			d = k.tookAll.Seconds() / float64(len(k.steps))
			parts = append(parts, fmt.Sprintf("step %d %s (no estimate: as long as its steps %s took on average)", s.Number, secs(d), numbers(k.steps)))
		default:
			return nil
		}
		seconds += d
	}
	if len(parts) == 0 {
		return nil
	}
	return &planner.Estimate{Seconds: saturated(seconds), Basis: strings.Join(parts, "; ")}
}

// saturated rounds seconds to an int64, the largest one past it: a plan's
// estimates saturate there for huge counts.
func saturated(seconds float64) int64 {
	if seconds >= math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(math.Round(seconds))
}

// secs renders seconds as a Go duration, "1m30s" (in seconds past what a
// time.Duration holds).
func secs(s float64) string {
	if s >= float64(math.MaxInt64/int64(time.Second)) {
		return fmt.Sprintf("%.0fs", s)
	}
	return (time.Duration(math.Round(s)) * time.Second).String()
}

func numbers(steps []int) string {
	s := make([]string, len(steps))
	for i, n := range steps {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, ", ")
}
