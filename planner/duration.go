package planner

import (
	"fmt"
	"math"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
)

// Estimate is an estimated duration and what it rests on.
type Estimate struct {
	Seconds int64  `json:"seconds"`
	Basis   string `json:"basis"`
}

// String renders the estimate as "about 12m".
func (e *Estimate) String() string {
	if e == nil {
		return "no history"
	}
	// In whole seconds, not a time.Duration, which overflows past 292 years.
	minutes := e.Seconds / 60
	if e.Seconds%60 >= 30 {
		minutes++
	}
	if h := minutes / 60; h > 0 {
		return fmt.Sprintf("about %dh%02dm", h, minutes%60)
	}
	return fmt.Sprintf("about %dm", max(1, minutes))
}

// addSeconds adds durations in seconds, saturating instead of overflowing.
func addSeconds(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// history is how long the Cluster's own Machines took to get a ready node.
type history struct {
	median  time.Duration
	samples int
}

// machineHistory is the median time from Machine creation to its NodeReady
// condition turning true, over the given Machines.
func machineHistory(machines []*clusterv1.Machine) *history {
	var d []time.Duration
	for _, m := range machines {
		c := meta.FindStatusCondition(m.Status.Conditions, clusterv1.MachineNodeReadyCondition)
		if c == nil || c.Status != "True" || m.CreationTimestamp.IsZero() {
			continue
		}
		if took := c.LastTransitionTime.Sub(m.CreationTimestamp.Time); took > 0 {
			d = append(d, took)
		}
	}
	if len(d) == 0 {
		return nil
	}
	slices.Sort(d)
	return &history{median: d[len(d)/2], samples: len(d)}
}

// estimate is ops Machines, parallel at a time, each taking the median.
func (h *history) estimate(ops, parallel int) *Estimate {
	if h == nil || ops == 0 {
		return nil
	}
	batches := (ops + max(1, parallel) - 1) / max(1, parallel)
	// In floating point, saturated: batches times the median overflows a time.Duration for big counts.
	seconds := int64(math.MaxInt64)
	if f := float64(batches) * h.median.Seconds(); f < math.MaxInt64 {
		seconds = int64(f)
	}
	return &Estimate{Seconds: seconds,
		Basis: fmt.Sprintf("%d Machine(s), %d at a time, each about %s: the median from creation to node ready over %d of the Cluster's Machines (in-place updates assumed as long)",
			ops, max(1, parallel), h.median.Round(time.Second), h.samples)}
}

// stepEstimate adds up a step's changes: worker waves run one after the other,
// the changes of a wave and MachinePools alongside MachineDeployments in parallel.
func stepEstimate(s *Step) *Estimate {
	if s.Kind == StepControlPlane {
		return s.Changes[0].Prediction.Duration
	}
	byKind := map[string]map[int]int64{}
	for _, c := range s.Changes {
		d := c.Prediction.Duration
		if d == nil {
			if c.Prediction.Counts.Created+c.Prediction.Counts.UpdatedInPlace > 0 {
				return nil // one unknown part makes the whole unknown
			}
			continue
		}
		if byKind[c.Object.Kind] == nil {
			byKind[c.Object.Kind] = map[int]int64{}
		}
		byKind[c.Object.Kind][c.Wave] = max(byKind[c.Object.Kind][c.Wave], d.Seconds)
	}
	var longest int64
	for _, waves := range byKind {
		var sum int64
		for _, s := range waves {
			sum = addSeconds(sum, s)
		}
		longest = max(longest, sum)
	}
	return &Estimate{Seconds: longest, Basis: "worker waves one after the other; MachinePools alongside MachineDeployments"}
}

// totalEstimate adds up the steps; unknown if any step with Machines to touch is.
func totalEstimate(steps []Step) *Estimate {
	var sum int64
	for _, s := range steps {
		if s.Duration == nil {
			if s.Machines != nil && s.Machines.Created+s.Machines.UpdatedInPlace > 0 {
				return nil
			}
			continue
		}
		sum = addSeconds(sum, s.Duration.Seconds)
	}
	return &Estimate{Seconds: sum, Basis: "the steps one after the other, without waiting for hooks"}
}
